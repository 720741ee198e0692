"""Workspaces, people and access: accounts, roles, sessions, API tokens, lockout and the audit log."""

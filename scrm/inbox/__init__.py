"""Conversations as the inbox works them: threading, status, assignment, replies."""

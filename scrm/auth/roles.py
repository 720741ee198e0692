"""What each role may do, and the Principal: who is acting, in which workspace, with which role and scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from beanie import PydanticObjectId

from scrm.models import Role, WorkspaceScope


class Permission(StrEnum):
    """One kind of action; roles are sets of these."""

    READ_WORKSPACE = "workspace:read"
    MANAGE_MEMBERS = "members:manage"
    MANAGE_TOKENS = "tokens:manage"
    READ_AUDIT = "audit:read"
    READ_CHANNELS = "channels:read"
    MANAGE_CHANNELS = "channels:manage"
    READ_CONTACTS = "contacts:read"
    EDIT_CONTACTS = "contacts:edit"
    MANAGE_CONTACTS = "contacts:manage"
    WORK_INBOX = "inbox:work"
    RUN_MARKETING = "marketing:run"
    READ_REPORTS = "reports:read"
    EXPORT_DATA = "data:export"


_READ = {Permission.READ_WORKSPACE, Permission.READ_CHANNELS, Permission.READ_CONTACTS, Permission.READ_REPORTS}
_MARKETER = _READ | {
    Permission.EDIT_CONTACTS,
    Permission.MANAGE_CONTACTS,
    Permission.RUN_MARKETING,
    Permission.EXPORT_DATA,
}
_AGENT = {
    Permission.READ_WORKSPACE,
    Permission.READ_CHANNELS,
    Permission.READ_CONTACTS,
    Permission.EDIT_CONTACTS,
    Permission.WORK_INBOX,
}
_ADMIN = (
    _MARKETER
    | _AGENT
    | {
        Permission.MANAGE_MEMBERS,
        Permission.MANAGE_TOKENS,
        Permission.READ_AUDIT,
        Permission.MANAGE_CHANNELS,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(_ADMIN),
    Role.MARKETER: frozenset(_MARKETER),
    Role.AGENT: frozenset(_AGENT),
    Role.VIEWER: frozenset(_READ),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone acting in one workspace: a signed-in user or an API token.

    Agents are limited to the channels and teams they are members of (`channel_ids`, `team_ids`); every other
    role sees the whole workspace.
    """

    workspace_id: PydanticObjectId
    role: Role
    actor: str
    channel_ids: frozenset[PydanticObjectId] = field(default_factory=frozenset)
    team_ids: frozenset[PydanticObjectId] = field(default_factory=frozenset)

    @property
    def scope(self) -> WorkspaceScope:
        """The workspace every query of this principal goes through."""
        return WorkspaceScope(self.workspace_id)

    @property
    def is_limited(self) -> bool:
        """Does this principal see only its channels and teams (an agent)?"""
        return self.role is Role.AGENT

    def can(self, permission: Permission) -> bool:
        """Does this principal's role include `permission`?"""
        return permission in ROLE_PERMISSIONS[self.role]


def can_grant(granter: Role, role: Role) -> bool:
    """May someone with role `granter` give `role` to another (only an owner makes owners)?"""
    if role is Role.OWNER:
        return granter is Role.OWNER
    return Permission.MANAGE_MEMBERS in ROLE_PERMISSIONS[granter]

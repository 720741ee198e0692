"""Workspaces, users and memberships: create them, find them, and change a member's role."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from scrm.auth import audit
from scrm.auth.passwords import hash_password
from scrm.models import AuditAction, Membership, Role, User, Workspace, WorkspaceScope, across_workspaces

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WORKSPACE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class AccountError(ValueError):
    """A workspace, user or membership cannot be created or changed; the message says why."""


def normalize_email(email: str) -> str:
    """The form an email is stored and looked up in: trimmed and lower-case."""
    return email.strip().lower()


async def create_workspace(name: str, now: datetime, *, actor: str, display_name: str = "") -> Workspace:
    """A new workspace named `name` (lower-case letters, digits, - and _); AccountError when taken."""
    if not WORKSPACE_NAME.match(name):
        raise AccountError(
            "A workspace name has 1-63 lower-case letters, digits, - or _, starting with one of the first two"
        )
    workspace = Workspace(name=name, display_name=display_name or name, created_at=now)
    try:
        await workspace.insert()
    except DuplicateKeyError:
        raise AccountError(f"A workspace named {name!r} already exists") from None
    await audit.record(AuditAction.WORKSPACE_CREATED, actor, now, workspace_id=workspace.id, target=name)
    return workspace


async def find_workspace(name: str) -> Workspace | None:
    """The workspace with this name, or None."""
    return await Workspace.find_one({"name": name})


async def get_workspace(name: str) -> Workspace:
    """The workspace with this name; AccountError naming it when there is none."""
    workspace = await find_workspace(name)
    if workspace is None:
        raise AccountError(f"No workspace named {name!r}")
    return workspace


async def create_user(email: str, password: str, now: datetime, *, display_name: str = "") -> User:
    """A new user with an argon2id password hash; AccountError for a bad or taken email."""
    address = normalize_email(email)
    if not EMAIL.match(address):
        raise AccountError(f"{email!r} is not an email address")
    user = User(email=address, password_hash=hash_password(password), display_name=display_name, created_at=now)
    try:
        await user.insert()
    except DuplicateKeyError:
        raise AccountError(f"A user with the email {address} already exists") from None
    return user


async def find_user(email: str) -> User | None:
    """The user with this email (any case), or None."""
    return await User.find_one({"email": normalize_email(email)})


async def add_member(
    workspace_id: PydanticObjectId,
    user: User,
    role: Role,
    now: datetime,
    *,
    actor: str,
    channel_ids: Iterable[PydanticObjectId] = (),
) -> Membership:
    """Give `user` a role in the workspace; AccountError when they already have one there."""
    assert user.id is not None
    member = Membership(
        workspace_id=workspace_id, user_id=user.id, role=role, channel_ids=list(channel_ids), created_at=now
    )
    try:
        await WorkspaceScope(workspace_id).insert(member)
    except DuplicateKeyError:
        raise AccountError(f"{user.email} is already a member of this workspace") from None
    details = {"role": role.value}
    await audit.record(
        AuditAction.MEMBER_ADDED, actor, now, workspace_id=workspace_id, target=user.email, details=details
    )
    return member


async def change_role(
    scope: WorkspaceScope, user_id: PydanticObjectId, role: Role, now: datetime, *, actor: str
) -> Membership:
    """Give a member another role in this workspace, and record the change; a workspace keeps one owner."""
    member = await get_member(scope, user_id)
    before = member.role
    if before is Role.OWNER and role is not Role.OWNER:
        await keep_an_owner(scope)
    member.role = role
    await scope.replace(member)
    details = {"from": before.value, "to": role.value}
    await audit.record(
        AuditAction.ROLE_CHANGED, actor, now, workspace_id=scope.workspace_id, target=f"user:{user_id}", details=details
    )
    return member


async def keep_an_owner(scope: WorkspaceScope) -> None:
    """Refuse to take away the workspace's last owner (AccountError)."""
    if await scope.count(Membership, {"role": Role.OWNER.value}) <= 1:
        raise AccountError("A workspace keeps at least one owner: make someone else owner first")


async def get_member(scope: WorkspaceScope, user_id: PydanticObjectId) -> Membership:
    """The membership of one user in this workspace; AccountError when they are not a member."""
    member = await scope.find_one(Membership, {"user_id": user_id})
    if member is None:
        raise AccountError("This user is not a member of this workspace")
    return member


async def memberships_of(user_id: PydanticObjectId) -> list[Membership]:
    """Every workspace role of one user, oldest first."""
    with across_workspaces("a user's own memberships span the workspaces they belong to"):
        return await Membership.find({"user_id": user_id}).sort("+created_at").to_list()

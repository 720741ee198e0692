"""A workspace's members: list them, change a member's role or channels, remove a member."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.auth.accounts import change_role, keep_an_owner
from scrm.auth.roles import Principal, can_grant
from scrm.models import AuditAction, Channel, Membership, Role, User


class MemberChangeRefused(PermissionError):
    """The acting principal may not make this change (an admin touching an owner, say)."""


async def list_members(principal: Principal) -> list[tuple[Membership, User]]:
    """Every member of the principal's workspace with their user, oldest first."""
    members = await principal.scope.find(Membership).sort("+created_at").to_list()
    users = {u.id: u for u in await User.find({"_id": {"$in": [m.user_id for m in members]}}).to_list()}
    return [(m, users[m.user_id]) for m in members if m.user_id in users]


async def find_user_of(member: Membership) -> User:
    """The user behind a membership (memberships are removed with their user)."""
    user = await User.get(member.user_id)
    if user is None:
        raise LookupError(f"User {member.user_id} is gone")
    return user


def _check_may_change(principal: Principal, member: Membership, role: Role | None) -> None:
    if not can_grant(principal.role, member.role) or (role is not None and not can_grant(principal.role, role)):
        raise MemberChangeRefused(f"The {principal.role.value} role may not change an {member.role.value}'s access")


async def update_member(
    principal: Principal,
    member_id: PydanticObjectId,
    now: datetime,
    *,
    role: Role | None = None,
    channel_ids: Sequence[PydanticObjectId] | None = None,
) -> Membership:
    """Change a member's role and/or the channels an agent works in; role changes go to the audit log."""
    member = await principal.scope.get(Membership, member_id)
    _check_may_change(principal, member, role)
    if channel_ids is not None:
        if await principal.scope.count(Channel, {"_id": {"$in": list(channel_ids)}}) != len(set(channel_ids)):
            raise ValueError("channel_ids names a channel that is not in this workspace")
        member.channel_ids = list(channel_ids)
        await principal.scope.replace(member)
    if role is not None and role is not member.role:
        member = await change_role(principal.scope, member.user_id, role, now, actor=principal.actor)
    return member


async def remove_member(principal: Principal, member_id: PydanticObjectId, now: datetime) -> None:
    """Take a user out of the workspace (their login stays); the last owner cannot be removed."""
    member = await principal.scope.get(Membership, member_id)
    _check_may_change(principal, member, None)
    if member.role is Role.OWNER:
        await keep_an_owner(principal.scope)
    await principal.scope.delete(member)
    details = {"role": member.role.value}
    target = f"user:{member.user_id}"
    await audit.record(
        AuditAction.MEMBER_REMOVED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=target,
        details=details,
    )

"""Agent availability: each member's online/away/offline status, when they were last active, their capacity.

Only an agent who is online *and* was active within `ONLINE_TIMEOUT` is given new conversations, so a person
who closes the laptop without switching to offline stops receiving work after a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from scrm.auth.roles import Permission, Principal
from scrm.inbox.conversations import InboxInputError, user_id_of
from scrm.models import AgentAvailability, AgentStatus, Membership, NotInWorkspace, Role, User, WorkspaceScope
from scrm.models.base import utcnow

ONLINE_TIMEOUT = timedelta(minutes=15)
"""An online agent not seen for this long is not given new conversations."""
SEEN_EVERY = timedelta(minutes=1)
"""`last_seen_at` is written at most this often per user."""
MAX_CAPACITY = 500
WORKING_ROLES = (Role.OWNER, Role.ADMIN, Role.AGENT)
_MEMO_LIMIT = 10_000
_seen: dict[tuple[PydanticObjectId, PydanticObjectId], datetime] = {}
"""The last `last_seen_at` this process wrote per (workspace, user), so most requests write nothing."""


class AvailabilityRefused(PermissionError):
    """The principal may not change this member's availability (another member's, or a capacity)."""


@dataclass(frozen=True, slots=True)
class MemberAvailability:
    """A member who works the inbox, with their availability (offline when they never set one)."""

    user: User
    role: Role
    availability: AgentAvailability

    def is_available(self, now: datetime) -> bool:
        """Would this member be given a new conversation now (online and seen recently)?"""
        return is_available(self.availability, now)


def is_available(availability: AgentAvailability, now: datetime) -> bool:
    """Online, and active within ONLINE_TIMEOUT."""
    seen = availability.last_seen_at
    return availability.status is AgentStatus.ONLINE and seen is not None and seen >= now - ONLINE_TIMEOUT


def check_capacity(capacity: int | None) -> None:
    """InboxInputError unless `capacity` is None (the team's default) or 1 to MAX_CAPACITY."""
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise InboxInputError(f"A capacity is 1 to {MAX_CAPACITY} open conversations")


async def find_availability(scope: WorkspaceScope, user_id: PydanticObjectId) -> AgentAvailability:
    """This member's availability (a fresh, offline one when they never set any)."""
    found = await scope.find_one(AgentAvailability, {"user_id": user_id})
    return found or AgentAvailability(workspace_id=scope.workspace_id, user_id=user_id)


async def _working_member(scope: WorkspaceScope, user_id: PydanticObjectId) -> Membership:
    member = await scope.find_one(Membership, {"user_id": user_id})
    if member is None or member.role not in WORKING_ROLES:
        raise NotInWorkspace(f"No member {user_id} in this workspace who works the inbox")
    return member


async def set_availability(
    principal: Principal,
    user_id: PydanticObjectId,
    now: datetime,
    *,
    status: AgentStatus | None = None,
    capacity: int | None = None,
    clear_capacity: bool = False,
) -> AgentAvailability:
    """Set a member's status and/or capacity; a member sets their own status, admins anyone's and capacities.

    Going online counts as activity (`last_seen_at` is now).
    """
    await _working_member(principal.scope, user_id)
    admin = principal.can(Permission.MANAGE_MEMBERS)
    if not admin and user_id != user_id_of(principal):
        raise AvailabilityRefused("Only admins change another member's availability")
    if (capacity is not None or clear_capacity) and not admin:
        raise AvailabilityRefused("Only admins change a member's capacity")
    check_capacity(capacity)
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status.value
        if status is AgentStatus.ONLINE:
            changes["last_seen_at"] = now
    if capacity is not None or clear_capacity:
        changes["capacity"] = capacity
    return await _upsert(principal.scope, user_id, changes)


async def _upsert(scope: WorkspaceScope, user_id: PydanticObjectId, changes: dict[str, Any]) -> AgentAvailability:
    """Apply `changes` to a member's availability, creating it on first use (a racing creator wins; retry once)."""
    fresh = {
        "created_at": utcnow(),
        "status": AgentStatus.OFFLINE.value,
        "last_seen_at": None,
        "capacity": None,
        "assign_seq": 0,
    }
    on_insert = {k: v for k, v in fresh.items() if k not in changes}
    update: dict[str, Any] = {"$setOnInsert": on_insert}
    if changes:
        update["$set"] = changes
    target = {"workspace_id": scope.workspace_id, "user_id": user_id}
    collection = AgentAvailability.get_pymongo_collection()
    try:
        found = await collection.find_one_and_update(target, update, upsert=True, return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:
        found = await collection.find_one_and_update(target, update, return_document=ReturnDocument.AFTER)
    availability: AgentAvailability = AgentAvailability.model_validate(found)
    return availability


async def note_activity(scope: WorkspaceScope, user_id: PydanticObjectId, now: datetime) -> bool:
    """Refresh a member's `last_seen_at`, writing at most once per SEEN_EVERY; True when it wrote.

    Called on every signed-in inbox request: a memo in this process skips the database for a user seen within
    the minute, and the update's own filter skips the write when another process wrote it.
    """
    key = (scope.workspace_id, user_id)
    last = _seen.get(key)
    if last is not None and now - SEEN_EVERY < last <= now:
        return False
    if len(_seen) >= _MEMO_LIMIT:
        _seen.clear()
    _seen[key] = now
    stale = {"$or": [{"last_seen_at": None}, {"last_seen_at": {"$lt": now - SEEN_EVERY}}]}
    result = await AgentAvailability.get_pymongo_collection().update_one(
        {"workspace_id": scope.workspace_id, "user_id": user_id, **stale}, {"$set": {"last_seen_at": now}}
    )
    return result.modified_count > 0


async def list_availability(principal: Principal) -> list[MemberAvailability]:
    """Every member who works the inbox with their availability, in order of joining."""
    members = await principal.scope.find(Membership, {"role": {"$in": [r.value for r in WORKING_ROLES]}}).to_list()
    members.sort(key=lambda m: m.created_at)
    ids = [m.user_id for m in members]
    users = {u.id: u for u in await User.find({"_id": {"$in": ids}}).to_list()}
    found = {a.user_id: a for a in await principal.scope.find(AgentAvailability, {"user_id": {"$in": ids}}).to_list()}
    return [
        MemberAvailability(
            users[m.user_id],
            m.role,
            found.get(m.user_id) or AgentAvailability(workspace_id=principal.workspace_id, user_id=m.user_id),
        )
        for m in members
        if m.user_id in users
    ]


async def get_member_availability(principal: Principal, user_id: PydanticObjectId) -> MemberAvailability:
    """One working member with their availability; NotInWorkspace otherwise."""
    member = await _working_member(principal.scope, user_id)
    user = await User.get(user_id)
    if user is None:
        raise NotInWorkspace(f"No member {user_id} in this workspace who works the inbox")
    return MemberAvailability(user, member.role, await find_availability(principal.scope, user_id))

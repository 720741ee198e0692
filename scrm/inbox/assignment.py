"""Round-robin assignment: a new (or reopened) conversation without an assignee goes to the next available agent
of a team that handles its channel.

Eligible: a member of the team who still works the inbox, online and active within `ONLINE_TIMEOUT`, with
fewer open conversations than their capacity. Workers run side by side, so:

- the turn is a number taken with one atomic `$inc` on the team (`Team.rotation`), never read-then-written;
- capacity is checked optimistically: read the agent's `assign_seq`, count their open conversations, assign
  (only if the conversation still has nobody), then move `assign_seq` on *only if it has not moved*. When it
  has, another worker assigned to the same agent meanwhile: undo and count again. Every committed assignment
  happened before the next one's count, so none goes over capacity.

Nobody eligible: the conversation gets the team and waits in its queue; `assign_waiting` (on the clock) hands
queued conversations out when agents come online or free a place. Only conversations that still have nobody
are touched, so running a batch again (a replay after a crash) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from scrm.events import Event, MessageReceived
from scrm.inbox.availability import WORKING_ROLES, is_available
from scrm.models import (
    AgentAvailability,
    Conversation,
    ConversationStatus,
    Membership,
    Team,
    WorkspaceScope,
    across_workspaces,
)

ACTIVE = (ConversationStatus.OPEN.value, ConversationStatus.PENDING.value)
"""The statuses that take up a place of an agent's capacity."""
MAX_ATTEMPTS = 50
"""Attempts on one agent; each failed one means another worker just assigned to them."""
WAITING_BATCH = 200


class Outcome(Enum):
    """How an attempt to give a conversation to one agent ended."""

    ASSIGNED = "assigned"
    FULL = "full"
    TAKEN = "taken"
    """The conversation has an assignee (or is no longer open): nothing more to do."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible agent of a team as of this run: their availability row and effective capacity."""

    user_id: PydanticObjectId
    availability_id: PydanticObjectId
    capacity: int


async def assign_arrivals(events: Sequence[Event], now: datetime) -> None:
    """The inbox arrival step: auto-assign the conversations of new inbound messages that have nobody."""
    ids = sorted({e.conversation_id for e in events if isinstance(e, MessageReceived)})
    if ids:
        await auto_assign(ids, now)


async def auto_assign(conversation_ids: Sequence[PydanticObjectId], now: datetime) -> int:
    """Route each open, unassigned conversation to a team and, when someone is eligible, an agent; returns how
    many were assigned."""
    unassigned = {"_id": {"$in": list(conversation_ids)}, "assignee_id": None, "status": ConversationStatus.OPEN.value}
    with across_workspaces("a pipeline batch carries conversations of any workspace"):
        waiting = await Conversation.find(unassigned).sort("+last_message_at", "+_id").to_list()
    by_workspace: dict[PydanticObjectId, list[Conversation]] = {}
    for conversation in waiting:
        by_workspace.setdefault(conversation.workspace_id, []).append(conversation)
    assigned = 0
    for workspace_id, conversations in by_workspace.items():
        assigned += await _route(WorkspaceScope(workspace_id), conversations, now)
    return assigned


async def _route(scope: WorkspaceScope, conversations: list[Conversation], now: datetime) -> int:
    channels = sorted({c.channel_id for c in conversations})
    named = sorted({c.team_id for c in conversations if c.team_id is not None})
    teams = await scope.find(Team, {"$or": [{"channel_ids": {"$in": channels}}, {"_id": {"$in": named}}]}).to_list()
    if not teams:
        return 0
    teams.sort(key=lambda t: (t.name, str(t.id)))
    pools: dict[PydanticObjectId, list[Candidate]] = {}
    assigned = 0
    for conversation in conversations:
        handling = _teams_for(conversation, teams)
        if not handling:
            continue
        for team in handling:
            if not team.auto_assign:
                continue
            assert team.id is not None
            if team.id not in pools:
                pools[team.id] = await eligible(scope, team, now)
            if await give_to_next(scope, team, pools[team.id], conversation) is not None:
                assigned += 1
                break
        else:
            await _queue(scope, conversation, handling[0])
    return assigned


def _teams_for(conversation: Conversation, teams: list[Team]) -> list[Team]:
    """The team a conversation was routed to, else every team handling its channel (by name)."""
    if conversation.team_id is not None:
        return [t for t in teams if t.id == conversation.team_id]
    return [t for t in teams if conversation.channel_id in t.channel_ids]


async def _queue(scope: WorkspaceScope, conversation: Conversation, team: Team) -> None:
    """Put a conversation nobody could take in a team's queue (unless it was routed or taken meanwhile)."""
    await scope.find(Conversation, {"_id": conversation.id, "team_id": None, "assignee_id": None}).update(
        {"$set": {"team_id": team.id}}
    )


async def eligible(scope: WorkspaceScope, team: Team, now: datetime) -> list[Candidate]:
    """The team's members who work the inbox and are online and active now, in the rotation's order."""
    if not team.member_ids:
        return []
    working = await scope.find(
        Membership, {"user_id": {"$in": team.member_ids}, "role": {"$in": [r.value for r in WORKING_ROLES]}}
    ).to_list()
    workers = {m.user_id for m in working}
    rows = await scope.find(AgentAvailability, {"user_id": {"$in": sorted(workers)}}).to_list()
    available = {a.user_id: a for a in rows if is_available(a, now)}
    found = []
    for user_id in team.member_ids:
        row = available.get(user_id)
        if row is not None and row.id is not None:
            found.append(Candidate(user_id, row.id, row.capacity or team.default_capacity))
    return found


async def give_to_next(
    scope: WorkspaceScope, team: Team, candidates: list[Candidate], conversation: Conversation
) -> PydanticObjectId | None:
    """Give the conversation to the next candidate in the team's rotation who has a free place; their id, or None."""
    if not candidates:
        return None
    turn = await Team.get_pymongo_collection().find_one_and_update(
        {"_id": team.id, "workspace_id": scope.workspace_id},
        {"$inc": {"rotation": 1}},
        projection={"rotation": 1},
        return_document=ReturnDocument.AFTER,
    )
    if turn is None:  # the team was deleted meanwhile
        return None
    start = int(turn["rotation"]) % len(candidates)
    for offset in range(len(candidates)):
        candidate = candidates[(start + offset) % len(candidates)]
        outcome = await try_assign(scope, team, candidate, conversation)
        if outcome is Outcome.ASSIGNED:
            return candidate.user_id
        if outcome is Outcome.TAKEN:
            return None
    return None


async def try_assign(scope: WorkspaceScope, team: Team, candidate: Candidate, conversation: Conversation) -> Outcome:
    """Assign the conversation to this agent if they have a free place, without ever going over capacity."""
    availability = AgentAvailability.get_pymongo_collection()
    conversations = Conversation.get_pymongo_collection()
    mine = {"_id": candidate.availability_id, "workspace_id": scope.workspace_id}
    for _ in range(MAX_ATTEMPTS):
        row = await availability.find_one(mine, {"assign_seq": 1})
        if row is None:
            return Outcome.FULL
        seq = row.get("assign_seq", 0)
        load = {"workspace_id": scope.workspace_id, "assignee_id": candidate.user_id, "status": {"$in": ACTIVE}}
        if await conversations.count_documents(load, limit=candidate.capacity) >= candidate.capacity:
            return Outcome.FULL
        target = {
            "_id": conversation.id,
            "workspace_id": scope.workspace_id,
            "assignee_id": None,
            "status": ConversationStatus.OPEN.value,
        }
        taken = await conversations.update_one(target, {"$set": {"assignee_id": candidate.user_id, "team_id": team.id}})
        if taken.modified_count == 0:
            return Outcome.TAKEN
        committed = await availability.update_one({**mine, "assign_seq": seq}, {"$inc": {"assign_seq": 1}})
        if committed.modified_count == 1:
            return Outcome.ASSIGNED
        # Another worker assigned to this agent between our read and our commit: give the place back, recount.
        await conversations.update_one(
            {"_id": conversation.id, "workspace_id": scope.workspace_id, "assignee_id": candidate.user_id},
            {"$set": {"assignee_id": None}},
        )
    return Outcome.FULL


async def assign_waiting(now: datetime, limit: int = WAITING_BATCH) -> int:
    """Hand out the conversations waiting in auto-assigning teams' queues, oldest first; returns how many.

    For the clock: idempotent, and safe to run in every worker at once (the same guards as on arrival).
    """
    with across_workspaces("the clock hands out the queued conversations of every workspace"):
        teams = await Team.find({"auto_assign": True}).to_list()
    assigned = 0
    for team in teams:
        scope = WorkspaceScope(team.workspace_id)
        candidates = await eligible(scope, team, now)
        if not candidates:
            continue
        queued = {"team_id": team.id, "assignee_id": None, "status": ConversationStatus.OPEN.value}
        waiting = await scope.find(Conversation, queued).sort("+last_message_at", "+_id").limit(limit).to_list()
        for conversation in waiting:
            if await give_to_next(scope, team, candidates, conversation) is None:
                break  # everyone is full (or it was just taken): the rest waits for the next run
            assigned += 1
    return assigned

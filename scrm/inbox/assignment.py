"""Round-robin assignment: a new (or reopened) conversation without an assignee goes to the next available agent
of a team that handles its channel.

Eligible: a member of the team who still works the inbox, online and active within `ONLINE_TIMEOUT`, with
fewer open conversations than their capacity. Workers run side by side, so:

- the turns are numbers taken with one atomic `$inc` on the team (`Team.rotation`), one per conversation,
  never read-then-written;
- capacity is checked optimistically, a batch at a time: read the agents' `assign_seq`, count their open
  conversations, give each conversation to the next agent in turn with a free place (only if it still has
  nobody), then move each agent's `assign_seq` on *only if it has not moved*. When it has, another worker
  assigned to that agent meanwhile: undo those assignments and count again. Every committed assignment
  happened before the next commit's count, so no agent goes over capacity.

Nobody eligible: the conversation gets the team and waits in its queue; `assign_waiting` (on the clock) hands
queued conversations out when agents come online or free a place. Only conversations that still have nobody
are touched, so running a batch again (a replay after a crash) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument, UpdateOne

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
MAX_ROUNDS = 50
"""Rounds of one batch; each round after the first means another worker just assigned to the same agents."""
WAITING_BATCH = 200


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
    """Offer the conversations to their auto-assigning teams in turn (by name); queue the rest in their first team."""
    channels = sorted({c.channel_id for c in conversations})
    named = sorted({c.team_id for c in conversations if c.team_id is not None})
    teams = await scope.find(Team, {"$or": [{"channel_ids": {"$in": channels}}, {"_id": {"$in": named}}]}).to_list()
    teams.sort(key=lambda t: (t.name, str(t.id)))
    handling = {c.id: _teams_for(c, teams) for c in conversations}
    left = [c.id for c in conversations if handling[c.id] and c.id is not None]
    assigned = 0
    for team in teams:
        offered = [cid for cid in left if team.auto_assign and team in handling[cid]]
        if offered:
            done = set(await assign_to_team(scope, team, offered, now))
            assigned += len(done)
            left = [cid for cid in left if cid not in done]
    queues: dict[PydanticObjectId, list[PydanticObjectId]] = {}
    for cid in left:
        team_id = handling[cid][0].id
        if team_id is not None:
            queues.setdefault(team_id, []).append(cid)
    for team_id, ids in queues.items():  # stays unassigned, in the team's queue (unless routed or taken meanwhile)
        await scope.find(Conversation, {"_id": {"$in": ids}, "team_id": None, "assignee_id": None}).update(
            {"$set": {"team_id": team_id}}
        )
    return assigned


def _teams_for(conversation: Conversation, teams: list[Team]) -> list[Team]:
    """The team a conversation was routed to, else every team handling its channel (by name)."""
    if conversation.team_id is not None:
        return [t for t in teams if t.id == conversation.team_id]
    return [t for t in teams if conversation.channel_id in t.channel_ids]


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


async def assign_to_team(
    scope: WorkspaceScope, team: Team, conversation_ids: Sequence[PydanticObjectId], now: datetime
) -> list[PydanticObjectId]:
    """Give these conversations, in order, to the team's eligible agents in turn; the ids assigned.

    A conversation goes to the agent whose turn it is, or the next one after with a free place; one nobody
    can take stays unassigned.
    """
    candidates = await eligible(scope, team, now)
    if not candidates or not conversation_ids:
        return []
    turn = await Team.get_pymongo_collection().find_one_and_update(
        {"_id": team.id, "workspace_id": scope.workspace_id},
        {"$inc": {"rotation": len(conversation_ids)}},
        projection={"rotation": 1},
        return_document=ReturnDocument.AFTER,
    )
    if turn is None:  # the team was deleted meanwhile
        return []
    first = int(turn["rotation"]) - len(conversation_ids) + 1
    turns = {cid: first + i for i, cid in enumerate(conversation_ids)}
    pending, assigned = list(conversation_ids), []
    for _ in range(MAX_ROUNDS):
        seqs, free = await _free_places(scope, candidates)
        plan = _plan(pending, turns, candidates, free)
        done, undone = await _commit(scope, team, plan, seqs)
        assigned += done
        if not undone:
            break
        finished = set(done)
        pending = [cid for cid in pending if cid not in finished]  # another worker won a race: count again
    return assigned


async def _free_places(
    scope: WorkspaceScope, candidates: list[Candidate]
) -> tuple[dict[PydanticObjectId, int], dict[PydanticObjectId, int]]:
    """Each candidate's `assign_seq`, then (read after it) how many more open conversations they can take."""
    rows = AgentAvailability.get_pymongo_collection().find(
        {"_id": {"$in": [c.availability_id for c in candidates]}, "workspace_id": scope.workspace_id},
        {"assign_seq": 1},
    )
    seqs = {PydanticObjectId(row["_id"]): int(row.get("assign_seq", 0)) async for row in rows}
    load: list[dict[str, Any]] = [
        {
            "$match": {
                "workspace_id": scope.workspace_id,
                "assignee_id": {"$in": [c.user_id for c in candidates]},
                "status": {"$in": ACTIVE},
            }
        },
        {"$group": {"_id": "$assignee_id", "n": {"$sum": 1}}},
    ]
    cursor = await Conversation.get_pymongo_collection().aggregate(load)
    counts = {PydanticObjectId(row["_id"]): int(row["n"]) async for row in cursor}
    free = {c.user_id: c.capacity - counts.get(c.user_id, 0) for c in candidates if c.availability_id in seqs}
    return seqs, free


def _plan(
    pending: list[PydanticObjectId],
    turns: dict[PydanticObjectId, int],
    candidates: list[Candidate],
    free: dict[PydanticObjectId, int],
) -> dict[Candidate, list[PydanticObjectId]]:
    """Who takes which conversation: the agent whose turn it is, else the next one with a free place."""
    plan: dict[Candidate, list[PydanticObjectId]] = {}
    for cid in pending:
        start = turns[cid] % len(candidates)
        for offset in range(len(candidates)):
            candidate = candidates[(start + offset) % len(candidates)]
            if free.get(candidate.user_id, 0) > 0:
                free[candidate.user_id] -= 1
                plan.setdefault(candidate, []).append(cid)
                break
    return plan


async def _commit(
    scope: WorkspaceScope, team: Team, plan: dict[Candidate, list[PydanticObjectId]], seqs: dict[PydanticObjectId, int]
) -> tuple[list[PydanticObjectId], list[PydanticObjectId]]:
    """Assign as planned, then commit each agent's share; returns (assigned, undone after a lost race)."""
    conversations = Conversation.get_pymongo_collection()
    availability = AgentAvailability.get_pymongo_collection()
    done: list[PydanticObjectId] = []
    undone: list[PydanticObjectId] = []
    for candidate, ids in plan.items():
        mine = await _claim(scope, team, candidate.user_id, ids)
        if not mine:
            continue
        seq = {"_id": candidate.availability_id, "assign_seq": seqs[candidate.availability_id]}
        committed = await availability.update_one(
            {**seq, "workspace_id": scope.workspace_id}, {"$inc": {"assign_seq": 1}}
        )
        if committed.modified_count == 1:
            done += mine
            continue
        await conversations.update_many(  # give the places back; the next round counts again
            {"_id": {"$in": mine}, "workspace_id": scope.workspace_id, "assignee_id": candidate.user_id},
            {"$set": {"assignee_id": None}},
        )
        undone += mine
    return done, undone


async def _claim(
    scope: WorkspaceScope, team: Team, user_id: PydanticObjectId, ids: list[PydanticObjectId]
) -> list[PydanticObjectId]:
    """Assign each of these conversations that is open and still has nobody to the agent; the ids now theirs.

    One bulk write; when some were taken meanwhile, one read says which are the agent's now. That read
    cannot tell a conversation another worker gave the same agent at the same moment from ours: if our
    commit then fails, undoing it leaves that conversation unassigned in its team's queue, never over
    capacity, and `assign_waiting` hands it out again.
    """
    collection = Conversation.get_pymongo_collection()
    change = {"$set": {"assignee_id": user_id, "team_id": team.id}}
    free = {"workspace_id": scope.workspace_id, "assignee_id": None, "status": ConversationStatus.OPEN.value}
    result = await collection.bulk_write([UpdateOne({"_id": cid, **free}, change) for cid in ids], ordered=False)
    if result.modified_count == len(ids):
        return list(ids)
    theirs = collection.find({"_id": {"$in": ids}, "workspace_id": scope.workspace_id, "assignee_id": user_id})
    return [PydanticObjectId(row["_id"]) async for row in theirs]


async def assign_waiting(now: datetime, limit: int = WAITING_BATCH) -> int:
    """Hand out the conversations waiting in auto-assigning teams' queues, oldest first; returns how many.

    For the clock: idempotent, and safe to run in every worker at once (the same guards as on arrival).
    """
    with across_workspaces("the clock hands out the queued conversations of every workspace"):
        teams = await Team.find({"auto_assign": True}).to_list()
    assigned = 0
    for team in teams:
        scope = WorkspaceScope(team.workspace_id)
        if not await eligible(scope, team, now):
            continue
        queued = {"team_id": team.id, "assignee_id": None, "status": ConversationStatus.OPEN.value}
        waiting = await scope.find(Conversation, queued).sort("+last_message_at", "+_id").limit(limit).to_list()
        assigned += len(await assign_to_team(scope, team, [c.id for c in waiting if c.id is not None], now))
    return assigned

"""SLA clocks: first-response and resolution targets on conversations, and where each conversation stands.

A cycle starts when a contact writes to a conversation that has no clock yet, or whose last cycle ended
(it was resolved before this message): the pipeline's arrivals step sets the due times once, from the
workspace's policy and business hours. First response stops when an agent's reply is accepted by the
outbox (`replies.reply`): that is the moment the team answered; what follows (rate limits, the platform) is
delivery's time, not the team's, and a reply the messaging window refuses is never accepted, so it never
counts. Resolution stops when the conversation is resolved, one at a time or in bulk.

Nothing polls: a clock stores its due times, and whether it is breached or at risk is read from them and
`now` — `sla.breached_at <= now` is breached, `sla.warn_at <= now < sla.breached_at` at risk — on the page,
in the API and in the list's filter alike. Snoozing or setting a conversation pending does not pause its
clock; a conversation reopened by hand keeps its ended cycle until the contact writes again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument, UpdateOne

from scrm.events import Event, MessageReceived
from scrm.inbox.business_hours import ALWAYS_OPEN, Schedule, ScheduleError, add_business_time, make_schedule
from scrm.models import BusinessHours, Conversation, ConversationStatus, SlaClock, SlaPolicy

log = logging.getLogger(__name__)
RESOLVED = ConversationStatus.RESOLVED.value
WARN_SHARE = 0.8
"""A running target is at risk once 80 % of it is used (less than 20 % left)."""
SLA_FILTERS = ("breached", "at_risk")


class SlaState(StrEnum):
    """Where a conversation's current SLA cycle stands."""

    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    """Every target stopped in time."""


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """A clock read at `now`: its state and the due time of the next running target (None when none runs)."""

    state: SlaState
    next_due: datetime | None
    clock: SlaClock

    def left(self, now: datetime) -> timedelta | None:
        """Calendar time until the next due time (None when no target runs or it has passed)."""
        if self.next_due is None or self.next_due <= now:
            return None
        return self.next_due - now


def _first_running(clock: SlaClock) -> bool:
    return clock.first_response_due is not None and clock.first_responded_at is None and clock.resolved_at is None


def _resolution_running(clock: SlaClock) -> bool:
    return clock.resolution_due is not None and clock.resolved_at is None


def sla_status(clock: SlaClock | None, now: datetime) -> SlaStatus | None:
    """How a conversation's clock stands at `now`; None without a clock."""
    if clock is None:
        return None
    dues = [clock.first_response_due if _first_running(clock) else None]
    dues.append(clock.resolution_due if _resolution_running(clock) else None)
    running = [due for due in dues if due is not None]
    next_due = min(running) if running else None
    if clock.breached_at is not None and clock.breached_at <= now:
        return SlaStatus(SlaState.BREACHED, next_due, clock)
    if not running:
        return SlaStatus(SlaState.MET, None, clock)
    if clock.warn_at is not None and clock.warn_at <= now:
        return SlaStatus(SlaState.AT_RISK, next_due, clock)
    return SlaStatus(SlaState.OK, next_due, clock)


def sla_filter(wanted: str, now: datetime) -> dict[str, Any]:
    """The conversations whose SLA is `breached` or `at_risk` at `now`; ValueError for another value."""
    if wanted == "breached":
        return {"sla.breached_at": {"$type": "date", "$lte": now}}  # `$type`: the partial index `sla_due` applies
    if wanted == "at_risk":
        return {"sla.warn_at": {"$lte": now}, "sla.breached_at": {"$type": "date", "$gt": now}}
    raise ValueError(f"Unknown SLA filter {wanted!r}: use breached or at_risk")


def schedule_of(hours: BusinessHours | None) -> Schedule:
    """The business-hours schedule stored for a workspace (always open when it has none)."""
    if hours is None:
        return ALWAYS_OPEN
    week: dict[int, list[tuple[int, int]]] = {}
    for interval in hours.intervals:
        week.setdefault(interval.weekday, []).append((interval.start, interval.end))
    return make_schedule(hours.timezone, week, [date.fromisoformat(day) for day in hours.holidays])


def applies_to(policy: SlaPolicy | None, channel_id: PydanticObjectId) -> bool:
    """Does this policy time conversations on this channel?"""
    if policy is None or not policy.enabled:
        return False
    if policy.first_response_minutes is None and policy.resolution_minutes is None:
        return False
    return not policy.channel_ids or channel_id in policy.channel_ids


def new_clock(policy: SlaPolicy, schedule: Schedule, start: datetime) -> SlaClock:
    """A fresh cycle from `start`: each target's due and warning times, in business or calendar time."""
    assert policy.id is not None

    def after(minutes: int | None, share: float) -> datetime | None:
        if minutes is None:
            return None
        span = timedelta(minutes=minutes * share)
        return add_business_time(schedule, start, span) if policy.business_time else start + span

    clock = SlaClock(
        policy_id=policy.id,
        started_at=start,
        first_response_due=after(policy.first_response_minutes, 1.0),
        first_response_warn_at=after(policy.first_response_minutes, WARN_SHARE),
        resolution_due=after(policy.resolution_minutes, 1.0),
        resolution_warn_at=after(policy.resolution_minutes, WARN_SHARE),
    )
    dues = [at for at in (clock.first_response_due, clock.resolution_due) if at is not None]
    warns = [at for at in (clock.first_response_warn_at, clock.resolution_warn_at) if at is not None]
    return clock.model_copy(update={"breached_at": min(dues), "warn_at": min(warns)})


async def start_clocks(events: Sequence[Event], now: datetime) -> None:
    """The arrivals step: start a cycle on each conversation a contact wrote to that has none running.

    Idempotent: a cycle starts only on a conversation without a clock or with one that ended before the
    message, and the write is guarded by the clock it read, so a replayed batch (or a second worker) finds
    a running cycle and changes nothing. A batch of workspaces without a policy costs one small query.
    """
    messages = [event for event in events if isinstance(event, MessageReceived)]
    workspaces = sorted({m.where.workspace_id for m in messages})
    if not workspaces:
        return
    policies = {p.workspace_id: p for p in await SlaPolicy.find({"workspace_id": {"$in": workspaces}}).to_list()}
    messages = [m for m in messages if applies_to(policies.get(m.where.workspace_id), m.where.channel_id)]
    if not messages:
        return
    collection = Conversation.get_pymongo_collection()
    # A resolved conversation stays resolved after a message that answers a CSAT survey: no new cycle then.
    wanted = {"_id": {"$in": sorted({m.conversation_id for m in messages})}, "status": {"$ne": RESOLVED}}
    clocks = {raw["_id"]: raw.get("sla") async for raw in collection.find(wanted, {"sla": 1})}
    starts = _cycle_starts(messages, clocks, now)
    if not starts:
        return
    timed = sorted({m.where.workspace_id for m, _ in starts.values()})
    hours = {h.workspace_id: h for h in await BusinessHours.find({"workspace_id": {"$in": timed}}).to_list()}
    updates = []
    for conversation_id, (message, start) in starts.items():
        workspace_id = message.where.workspace_id
        clock = new_clock(policies[workspace_id], _schedule(hours.get(workspace_id)), start)
        read = clocks.get(conversation_id)
        target: dict[str, Any] = {"_id": conversation_id, "status": {"$ne": RESOLVED}}
        if read is None:
            target["sla"] = None
        else:  # the ended cycle it read: a concurrent start or resolve makes this write a no-op
            target |= {"sla.started_at": read["started_at"], "sla.resolved_at": read["resolved_at"]}
        updates.append(UpdateOne(target, {"$set": {"sla": clock.model_dump()}}))
    await collection.bulk_write(updates, ordered=False)


def _schedule(hours: BusinessHours | None) -> Schedule:
    """The stored schedule; one this process cannot read (its timezone missing here) counts as always open."""
    try:
        return schedule_of(hours)
    except ScheduleError:
        log.warning(
            "Business hours of workspace %s are unreadable here; counting calendar time", hours and hours.workspace_id
        )
        return ALWAYS_OPEN


def _cycle_starts(
    messages: Sequence[MessageReceived], clocks: dict[Any, dict[str, Any] | None], now: datetime
) -> dict[PydanticObjectId, tuple[MessageReceived, datetime]]:
    """Per conversation, the earliest message that starts a new cycle, and when (never later than `now`)."""
    starts: dict[PydanticObjectId, tuple[MessageReceived, datetime]] = {}
    for message in messages:
        read = clocks.get(message.conversation_id)
        at = min(message.at, now)
        if message.conversation_id not in clocks:
            continue  # resolved (and left so)
        if read is not None and (read.get("resolved_at") is None or at <= read["resolved_at"]):
            continue  # a cycle is running, or this message came before the last one ended
        known = starts.get(message.conversation_id)
        if known is None or at < known[1]:
            starts[message.conversation_id] = (message, at)
    return starts


def _null(path: str) -> dict[str, Any]:
    return {"$eq": [{"$ifNull": [path, None]}, None]}


def _late(due: str, at: datetime) -> dict[str, Any]:
    return {"$and": [{"$not": [_null(due)]}, {"$gt": [at, due]}]}


_FIRST_RUNNING = {
    "$and": [{"$not": [_null("$sla.first_response_due")]}, _null("$sla.first_responded_at"), _null("$sla.resolved_at")]
}
_RESOLUTION_RUNNING = {"$and": [{"$not": [_null("$sla.resolution_due")]}, _null("$sla.resolved_at")]}
_RECOMPUTE = {
    "$set": {
        "sla.breached_at": {
            "$min": [
                {"$cond": [{"$or": [_FIRST_RUNNING, "$sla.first_response_breached"]}, "$sla.first_response_due", None]},
                {"$cond": [{"$or": [_RESOLUTION_RUNNING, "$sla.resolution_breached"]}, "$sla.resolution_due", None]},
            ]
        },
        "sla.warn_at": {
            "$min": [
                {"$cond": [_FIRST_RUNNING, "$sla.first_response_warn_at", None]},
                {"$cond": [_RESOLUTION_RUNNING, "$sla.resolution_warn_at", None]},
            ]
        },
    }
}
"""Keeps the filter fields in step with the targets after one of them stops."""


async def note_first_response(workspace_id: PydanticObjectId, conversation_id: PydanticObjectId, at: datetime) -> None:
    """Stop the first-response target of a running cycle at `at` (a second reply changes nothing)."""
    running = {
        "_id": conversation_id,
        "workspace_id": workspace_id,
        "sla": {"$type": "object"},
        "sla.first_responded_at": None,
        "sla.resolved_at": None,
        "sla.started_at": {"$lte": at},
    }
    stop = {"$set": {"sla.first_responded_at": at, "sla.first_response_breached": _late("$sla.first_response_due", at)}}
    await Conversation.get_pymongo_collection().update_one(running, [stop, _RECOMPUTE])


def _resolution_stop(at: datetime) -> list[dict[str, Any]]:
    """The update that ends a cycle at `at`: resolution stops, and first response too if it still ran."""
    return [
        {
            "$set": {
                "sla.resolved_at": at,
                "sla.resolution_breached": _late("$sla.resolution_due", at),
                "sla.first_response_breached": {
                    "$cond": [_FIRST_RUNNING, _late("$sla.first_response_due", at), "$sla.first_response_breached"]
                },
            }
        },
        _RECOMPUTE,
    ]


def _resolvable(target: dict[str, Any]) -> dict[str, Any]:
    return {**target, "status": RESOLVED, "sla": {"$type": "object"}, "sla.resolved_at": None}


async def stop_resolution(conversation: Conversation, at: datetime) -> Conversation:
    """End the running cycle of a conversation just resolved; returns it as changed (as given without one)."""
    if conversation.sla is None or conversation.sla.resolved_at is not None:
        return conversation
    target = _resolvable({"_id": conversation.id, "workspace_id": conversation.workspace_id})
    found = await Conversation.get_pymongo_collection().find_one_and_update(
        target, _resolution_stop(at), return_document=ReturnDocument.AFTER
    )
    if found is None:
        return conversation
    changed: Conversation = Conversation.model_validate(found)
    return changed


async def stop_resolutions(target: dict[str, Any], at: datetime) -> int:
    """End the running cycles of the resolved conversations matching `target`; returns how many."""
    result = await Conversation.get_pymongo_collection().update_many(_resolvable(target), _resolution_stop(at))
    return result.modified_count

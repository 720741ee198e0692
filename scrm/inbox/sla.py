"""SLA clocks: first-response and resolution targets on conversations, and where each conversation stands.

A cycle starts when a contact writes to a conversation that has no clock yet, or whose last cycle ended
(it was resolved before this message): the pipeline's arrivals step sets the due times once, from the
workspace's policy and business hours. First response stops when an agent's reply is accepted by the
outbox (`replies.reply`): that is the moment the team answered; what follows (rate limits, the platform) is
delivery's time, not the team's, and a reply the messaging window refuses is never accepted, so it never
counts. Resolution stops when the conversation is resolved, one at a time or in bulk.

Nothing polls: a clock stores its due times, and whether it is breached or at risk is read from them and
`now` — `sla.breached_at <= now` is breached, `sla.warn_at <= now < sla.breached_at` at risk — on the page,
in the API and in the list's filter alike. A conversation reopened by hand keeps its ended cycle until the
contact writes again.

Pauses. While a conversation is in a status its policy's `pause_on` names (by default pending — waiting on
the customer — and snoozed), its clock is paused: `follow_status` sets `sla.paused_at` when a status change
(one conversation or many, on the page or through the API) puts it there, and the state reads `paused`,
which neither the breached nor the at-risk filter lists (`breached_at` keeps only targets already late at the
pause, `warn_at` is empty). A pause does not hide a breach that happened before it: such a clock stays
breached. The clock resumes when the conversation leaves the pausing statuses (an agent reopens it or sets
another status), when a snooze wakes (at its `snoozed_until`, `resume_woken`), or when the contact writes
(from the message's time; the message also turns a pending or snoozed conversation back to open). On
resuming, every target that had not stopped and was not yet due when the pause began has its due and warning
times moved later by the time spent paused: open hours only in business time (a pause over a weekend adds
the hours the team was open, none over closed hours), calendar time otherwise. The due times are computed
from the pause read, and written by one update conditional on that same `paused_at`, so two racing resumes
move them once. A policy change applies to later status changes: a conversation already pending when pausing
on pending is turned on is not paused until it enters the status again.

Resolving a paused conversation ends the cycle at once, with every target judged at the moment the pause
began (and an agent's first reply during a pause likewise): the time paused was the customer's, not the
team's, so a target that was in time when the team set the conversation aside stays in time however long the
customer took, and one already late stays late. The ended clock keeps its `paused_at`, telling when the wait
began; its due times are those of the pause (not moved).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument, UpdateOne

from scrm.events import Event, MessageReceived
from scrm.inbox.business_hours import (
    ALWAYS_OPEN,
    Schedule,
    ScheduleError,
    add_business_time,
    business_time_between,
    make_schedule,
)
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
    PAUSED = "paused"
    """The conversation is in a status that pauses the clock (pending, snoozed): no target runs down."""


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


def paused(clock: SlaClock | None) -> bool:
    """Is this clock's cycle running but paused (the conversation waits in a pausing status)?"""
    return clock is not None and clock.paused_at is not None and clock.resolved_at is None


def sla_status(clock: SlaClock | None, now: datetime) -> SlaStatus | None:
    """How a conversation's clock stands at `now`; None without a clock.

    A paused clock has no next due time; it reads `paused`, or `breached` when a target was late before the pause.
    """
    if clock is None:
        return None
    dues = [clock.first_response_due if _first_running(clock) else None]
    dues.append(clock.resolution_due if _resolution_running(clock) else None)
    running = [due for due in dues if due is not None]
    next_due = min(running) if running and not paused(clock) else None
    if clock.breached_at is not None and clock.breached_at <= now:
        return SlaStatus(SlaState.BREACHED, next_due, clock)
    if running and paused(clock):
        return SlaStatus(SlaState.PAUSED, None, clock)
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
    First, the paused clocks of the conversations written to resume (also idempotent: see `_resume_on_messages`).
    """
    messages = [event for event in events if isinstance(event, MessageReceived)]
    workspaces = sorted({m.where.workspace_id for m in messages})
    if not workspaces:
        return
    policies = {p.workspace_id: p for p in await SlaPolicy.find({"workspace_id": {"$in": workspaces}}).to_list()}
    await _resume_on_messages([m for m in messages if m.where.workspace_id in policies], now)
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
    """Is a target stopped at `at` late? Judged at the moment the pause began when the clock is paused."""
    judged_at = {"$min": [at, {"$ifNull": ["$sla.paused_at", at]}]}
    return {"$and": [{"$not": [_null(due)]}, {"$gt": [judged_at, due]}]}


_FIRST_RUNNING = {
    "$and": [{"$not": [_null("$sla.first_response_due")]}, _null("$sla.first_responded_at"), _null("$sla.resolved_at")]
}
_RESOLUTION_RUNNING = {"$and": [{"$not": [_null("$sla.resolution_due")]}, _null("$sla.resolved_at")]}
_PAUSED = {"$not": [_null("$sla.paused_at")]}


def _counts_breached(running: dict[str, Any], stopped_late: str, due: str) -> dict[str, Any]:
    """A target counts for `breached_at` when it stopped late or runs (while paused: only if due by the pause)."""
    by_the_pause = {"$or": [{"$not": [_PAUSED]}, {"$lte": [due, "$sla.paused_at"]}]}
    return {"$or": [stopped_late, {"$and": [running, by_the_pause]}]}


_RECOMPUTE = {
    "$set": {
        "sla.breached_at": {
            "$min": [
                {
                    "$cond": [
                        _counts_breached(_FIRST_RUNNING, "$sla.first_response_breached", "$sla.first_response_due"),
                        "$sla.first_response_due",
                        None,
                    ]
                },
                {
                    "$cond": [
                        _counts_breached(_RESOLUTION_RUNNING, "$sla.resolution_breached", "$sla.resolution_due"),
                        "$sla.resolution_due",
                        None,
                    ]
                },
            ]
        },
        "sla.warn_at": {
            "$cond": [
                _PAUSED,
                None,
                {
                    "$min": [
                        {"$cond": [_FIRST_RUNNING, "$sla.first_response_warn_at", None]},
                        {"$cond": [_RESOLUTION_RUNNING, "$sla.resolution_warn_at", None]},
                    ]
                },
            ]
        },
    }
}
"""Keeps the filter fields in step with the targets after one of them stops, or the clock pauses or resumes."""


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


def _pausable(at: datetime) -> dict[str, Any]:
    """The clocks a pause at `at` applies to: a cycle running (some target too), not paused already."""
    running = {"$or": [_FIRST_RUNNING, _RESOLUTION_RUNNING]}
    return {
        "sla": {"$type": "object"},
        "sla.resolved_at": None,
        "sla.paused_at": None,
        "sla.started_at": {"$lte": at},
        "$expr": running,
    }


def _pause(at: datetime) -> list[dict[str, Any]]:
    return [{"$set": {"sla.paused_at": at}}, _RECOMPUTE]


_MOVED = ("first_response_due", "first_response_warn_at", "resolution_due", "resolution_warn_at")


def resumed_times(clock: SlaClock, at: datetime, schedule: Schedule | None) -> dict[str, datetime]:
    """The due and warning times a paused clock has when it resumes at `at`, by field (only those that move).

    A time moves when its target had not stopped when the pause began and the time was still ahead then; it
    moves by the time paused: the open time between the pause and `at` in `schedule`, calendar time without one.
    """
    since = clock.paused_at
    if since is None or at <= since:
        return {}
    business = business_time_between(schedule, since, at) if schedule is not None else None

    def later(moment: datetime) -> datetime:
        if schedule is None or business is None:
            return moment + (at - since)
        return add_business_time(schedule, moment, business)

    first_ran = clock.first_responded_at is None or clock.first_responded_at >= since
    running = {"first_response_due": first_ran, "first_response_warn_at": first_ran}
    running |= {"resolution_due": clock.resolved_at is None, "resolution_warn_at": clock.resolved_at is None}
    moved = {}
    for name in _MOVED:
        moment: datetime | None = getattr(clock, name)
        if running[name] and moment is not None and moment > since:
            moved[name] = later(moment)
    return moved


async def resume_clocks(
    found: Sequence[Mapping[str, Any]], guard: Mapping[str, Any], at_of: Callable[[Mapping[str, Any]], datetime]
) -> int:
    """Resume each paused clock read in `found` at `at_of(raw)`; returns how many resumed.

    `found`: conversations as stored, with at least `_id`, `workspace_id` and `sla`. The time paused is counted
    in the workspace policy's mode (business hours or calendar; calendar without a policy).

    Each write is conditional on the pause it read (and on `guard`): a clock another resume already moved, or
    that paused again since, is left as it is.
    """
    workspaces = sorted({raw["workspace_id"] for raw in found})
    if not workspaces:
        return 0
    policies = {p.workspace_id: p for p in await SlaPolicy.find({"workspace_id": {"$in": workspaces}}).to_list()}
    hours = {h.workspace_id: h for h in await BusinessHours.find({"workspace_id": {"$in": workspaces}}).to_list()}
    updates = []
    for raw in found:
        clock = SlaClock.model_validate(raw["sla"])
        if clock.paused_at is None or clock.resolved_at is not None:
            continue
        policy = policies.get(raw["workspace_id"])
        business = policy is not None and policy.business_time
        schedule = _schedule(hours.get(raw["workspace_id"])) if business else None
        moved = resumed_times(clock, max(at_of(raw), clock.paused_at), schedule)
        target = {
            "_id": raw["_id"],
            **guard,
            "sla.paused_at": clock.paused_at,
            "sla.started_at": clock.started_at,
            "sla.resolved_at": None,
        }
        changes: dict[str, Any] = {f"sla.{name}": moment for name, moment in moved.items()}
        updates.append(UpdateOne(target, [{"$set": {**changes, "sla.paused_at": None}}, _RECOMPUTE]))
    if not updates:
        return 0
    result = await Conversation.get_pymongo_collection().bulk_write(updates, ordered=False)
    return result.modified_count


_PAUSED_CLOCK = {"sla.paused_at": {"$type": "date"}, "sla.resolved_at": None}
_READ = {"workspace_id": 1, "sla": 1, "snoozed_until": 1}


async def follow_statuses(target: dict[str, Any], workspace_id: PydanticObjectId, at: datetime) -> int:
    """After a status change of the conversations matching `target` (in one workspace), pause or resume clocks.

    Those now in a status the policy pauses on have their running clock paused at `at`; those in another
    status have their paused clock resumed at `at`. Returns how many clocks changed. Both writes are guarded by
    the status they apply to, so a concurrent change of status is never undone.
    """
    policy = await SlaPolicy.find_one({"workspace_id": workspace_id})
    pause_on = list(policy.pause_on) if policy is not None else []
    collection = Conversation.get_pymongo_collection()
    changed = 0
    if pause_on:
        pausing = {**target, "workspace_id": workspace_id, "status": {"$in": pause_on}, **_pausable(at)}
        changed += (await collection.update_many(pausing, _pause(at))).modified_count
    leaving = {"workspace_id": workspace_id, "status": {"$nin": pause_on}}
    found = [raw async for raw in collection.find({**target, **leaving, **_PAUSED_CLOCK}, _READ)]
    return changed + await resume_clocks(found, leaving, lambda _: at)


async def follow_status(conversation: Conversation, at: datetime) -> Conversation:
    """After a conversation's status changed at `at`: pause or resume its clock; returns it as it now is."""
    if conversation.sla is None or conversation.sla.resolved_at is not None:
        return conversation
    target = {"_id": conversation.id, "workspace_id": conversation.workspace_id}
    if not await follow_statuses(target, conversation.workspace_id, at):
        return conversation
    found = await Conversation.get_pymongo_collection().find_one(target)
    return conversation if found is None else Conversation.model_validate(found)


async def resume_woken(due: dict[str, Any]) -> int:
    """Resume the paused clocks of the snoozed conversations `due` to wake, each from its `snoozed_until`.

    Called before they are woken, guarded by `due` itself: a crash in between leaves clocks running on
    conversations the next run wakes, never a woken conversation with its clock still paused.
    """
    collection = Conversation.get_pymongo_collection()
    found = [raw async for raw in collection.find({**due, **_PAUSED_CLOCK}, _READ)]
    return await resume_clocks(found, due, lambda raw: raw["snoozed_until"])


async def _resume_on_messages(messages: Sequence[MessageReceived], now: datetime) -> None:
    """The contact wrote: resume each paused clock from the first of its messages written after the pause.

    A replayed message (written before the pause) or one already counted resumes nothing.
    """
    times: dict[PydanticObjectId, list[datetime]] = {}
    for message in messages:
        times.setdefault(message.conversation_id, []).append(min(message.at, now))
    if not times:
        return
    collection = Conversation.get_pymongo_collection()
    wanted = {"_id": {"$in": sorted(times)}, **_PAUSED_CLOCK}
    found = []
    firsts: dict[Any, datetime] = {}
    async for raw in collection.find(wanted, _READ):
        after = [at for at in times[raw["_id"]] if at > raw["sla"]["paused_at"]]
        if after:
            found.append(raw)
            firsts[raw["_id"]] = min(after)
    await resume_clocks(found, {}, lambda raw: firsts[raw["_id"]])

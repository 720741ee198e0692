"""Reading and changing a workspace's business hours and SLA policy, checked whole (for the API and the page).

Forms carry plain values (`HH:MM` text, ISO dates, id strings); saving checks them all and raises
ScheduleError saying what is wrong before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from beanie import PydanticObjectId

from scrm.inbox.business_hours import WEEKDAYS, ScheduleError, check_day, clock, parse_clock, zone
from scrm.models import BusinessHours, Channel, OpenInterval, SlaPolicy, Workspace, WorkspaceScope
from scrm.models.sla import PAUSABLE

MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_HOLIDAYS = 400
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class IntervalForm:
    """Open on `weekday` (0 Monday … 6 Sunday) from `start` to `end`, both `HH:MM`."""

    weekday: int
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class HoursForm:
    """Business hours as people write them."""

    timezone: str
    intervals: list[IntervalForm] = field(default_factory=list)
    holidays: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PolicyForm:
    """An SLA policy as people write it; a target of None is not measured."""

    name: str = "Default"
    enabled: bool = False
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_time: bool = True
    channel_ids: tuple[str, ...] = ()
    pause_on: tuple[str, ...] = PAUSABLE
    """The conversation statuses that pause a running clock: `pending`, `snoozed`, both (the default) or none."""


async def read_hours(scope: WorkspaceScope) -> HoursForm:
    """The workspace's business hours; without any, always open in the workspace's own timezone."""
    hours = await scope.find_one(BusinessHours)
    if hours is None:
        workspace = await Workspace.get(scope.workspace_id)
        return HoursForm(workspace.timezone if workspace else "UTC")
    intervals = [IntervalForm(i.weekday, clock(i.start), clock(i.end)) for i in hours.intervals]
    return HoursForm(hours.timezone, intervals, list(hours.holidays))


def checked_intervals(form: HoursForm) -> list[OpenInterval]:
    """The form's intervals as stored, sorted by day and time; ScheduleError for a bad or overlapping one."""
    zone(form.timezone)
    by_day: dict[int, list[tuple[int, int]]] = {}
    for interval in form.intervals:
        if not 0 <= interval.weekday < len(WEEKDAYS):
            raise ScheduleError(f"Weekday {interval.weekday} does not exist: use 0 (Monday) to 6 (Sunday)")
        start, end = parse_clock(interval.start), parse_clock(interval.end)
        by_day.setdefault(interval.weekday, []).append((start, end))
    return [
        OpenInterval(weekday=day, start=start, end=end)
        for day in sorted(by_day)
        for start, end in check_day(by_day[day], WEEKDAYS[day])
    ]


def checked_holidays(days: list[str]) -> list[str]:
    """Holidays as sorted ISO dates without repeats; ScheduleError for one that is not a date."""
    if len(days) > MAX_HOLIDAYS:
        raise ScheduleError(f"At most {MAX_HOLIDAYS} holidays")
    found = set()
    for day in days:
        try:
            found.add(date.fromisoformat(day.strip()).isoformat())
        except ValueError:
            raise ScheduleError(f"Holiday {day!r} is not a date: write YYYY-MM-DD") from None
    return sorted(found)


async def save_hours(scope: WorkspaceScope, form: HoursForm, now: datetime, actor: str) -> HoursForm:
    """Check and store the workspace's business hours (replacing any); returns them as stored."""
    intervals, holidays = checked_intervals(form), checked_holidays(form.holidays)
    hours = await scope.find_one(BusinessHours) or BusinessHours(workspace_id=scope.workspace_id)
    hours.timezone, hours.intervals, hours.holidays = form.timezone, intervals, holidays
    hours.updated_at, hours.updated_by = now, actor
    await (scope.insert(hours) if hours.id is None else scope.replace(hours))
    return await read_hours(scope)


async def read_policy(scope: WorkspaceScope) -> PolicyForm:
    """The workspace's SLA policy; without one, a disabled policy that measures nothing."""
    policy = await scope.find_one(SlaPolicy)
    if policy is None:
        return PolicyForm()
    return PolicyForm(
        name=policy.name,
        enabled=policy.enabled,
        first_response_minutes=policy.first_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        business_time=policy.business_time,
        channel_ids=tuple(str(c) for c in policy.channel_ids),
        pause_on=tuple(policy.pause_on),
    )


async def checked_channels(scope: WorkspaceScope, ids: tuple[str, ...]) -> list[PydanticObjectId]:
    """The channel ids, each a channel of this workspace; ScheduleError naming one that is not."""
    wanted = list(dict.fromkeys(ids))
    bad = [i for i in wanted if not PydanticObjectId.is_valid(i)]
    oids = [PydanticObjectId(i) for i in wanted if i not in bad]
    known = {str(c.id) for c in await scope.find(Channel, {"_id": {"$in": oids}}).to_list()}
    missing = bad + [i for i in wanted if i not in bad and i not in known]
    if missing:
        raise ScheduleError(f"No channel {missing[0]} in this workspace")
    return oids


def check_targets(form: PolicyForm) -> None:
    """ScheduleError for a target outside 1 minute … 366 days, an empty name, or an enabled policy without target."""
    for label, minutes in (("first response", form.first_response_minutes), ("resolution", form.resolution_minutes)):
        if minutes is not None and not 1 <= minutes <= MAX_TARGET_MINUTES:
            raise ScheduleError(f"The {label} target is 1 to {MAX_TARGET_MINUTES} minutes")
    if not form.name.strip() or len(form.name) > MAX_NAME:
        raise ScheduleError(f"A policy's name has 1 to {MAX_NAME} characters")
    if form.enabled and form.first_response_minutes is None and form.resolution_minutes is None:
        raise ScheduleError("An enabled policy needs a first response or a resolution target")
    checked_pause_on(form.pause_on)


def checked_pause_on(statuses: tuple[str, ...]) -> list[str]:
    """The statuses that pause the clock, without repeats and in a fixed order; ScheduleError naming another."""
    for status in statuses:
        if status not in PAUSABLE:
            raise ScheduleError(f"Only {' and '.join(PAUSABLE)} can pause the SLA clock, not {status!r}")
    return [status for status in PAUSABLE if status in statuses]


async def save_policy(scope: WorkspaceScope, form: PolicyForm, now: datetime, actor: str) -> PolicyForm:
    """Check and store the workspace's SLA policy (replacing any); clocks started later follow it.

    Which statuses pause the clock applies from the next status change: a conversation paused in a status that
    no longer pauses resumes at its next status change or message; one already in a status that now pauses
    pauses when it next enters it.
    """
    check_targets(form)
    channels = await checked_channels(scope, form.channel_ids)
    policy = await scope.find_one(SlaPolicy) or SlaPolicy(workspace_id=scope.workspace_id)
    policy.name, policy.enabled, policy.business_time = form.name.strip(), form.enabled, form.business_time
    policy.first_response_minutes, policy.resolution_minutes = form.first_response_minutes, form.resolution_minutes
    policy.channel_ids, policy.updated_at, policy.updated_by = channels, now, actor
    policy.pause_on = checked_pause_on(form.pause_on)
    await (scope.insert(policy) if policy.id is None else scope.replace(policy))
    return await read_policy(scope)

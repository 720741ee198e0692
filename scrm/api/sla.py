"""`/api/v1/business-hours` and `/api/v1/sla-policy`: when the workspace answers, and how fast it promises to.

Both are one object per workspace, read and replaced whole (GET, PUT) by its owners and admins. A bad
timezone, an interval that is not within a day or overlaps another, or an unknown channel is a 400 problem
saying which. The policy's `pause_on` names the statuses (`pending`, `snoozed`) in which a conversation's
clock stands still (state `paused`). A conversation's SLA (state and due times) is part of
`/api/v1/conversations`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, put
from litestar.params import JSONBody
from litestar.types import ExceptionHandlersMap

from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission
from scrm.inbox import sla_settings
from scrm.inbox.business_hours import ScheduleError
from scrm.inbox.sla import sla_status
from scrm.models import SlaClock
from scrm.problems import problem_with

Clock = Annotated[str, msgspec.Meta(pattern=r"^\d{1,2}:\d{2}$", description="HH:MM, 00:00 to 24:00")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DAY_NAMES: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
State = Literal["ok", "at_risk", "breached", "met", "paused"]
Pausing = Literal["pending", "snoozed"]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=sla_settings.MAX_TARGET_MINUTES)]
ADMIN = [requires(Permission.MANAGE_CHANNELS)]
"""Owners and admins: the roles that configure the workspace's channels configure how it answers them."""


class IntervalIO(msgspec.Struct, forbid_unknown_fields=True):
    """Open on `day` from `start` to `end` (local time; `end` may be 24:00)."""

    day: Weekday
    start: Clock
    end: Clock


class BusinessHoursIO(msgspec.Struct, forbid_unknown_fields=True):
    """When the workspace is open: no interval at all means around the clock; holidays are closed all day."""

    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA name, e.g. Asia/Shanghai")]
    intervals: Annotated[list[IntervalIO], msgspec.Meta(max_length=70)] = msgspec.field(default_factory=list)
    holidays: Annotated[list[date], msgspec.Meta(max_length=sla_settings.MAX_HOLIDAYS)] = msgspec.field(
        default_factory=list
    )


class SlaPolicyIO(msgspec.Struct, forbid_unknown_fields=True):
    """The workspace's SLA: targets in minutes (null: not measured), in business or calendar time."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] = "Default"
    enabled: bool = True
    first_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    business_time: bool = True
    channel_ids: Annotated[list[str], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)
    """Only conversations on these channels (empty: every channel)."""
    pause_on: Annotated[list[Pausing], msgspec.Meta(max_length=2)] = msgspec.field(
        default_factory=lambda: ["pending", "snoozed"]
    )
    """The statuses in which a conversation's clock stands still (empty: never paused)."""


class SlaOut(msgspec.Struct):
    """A conversation's current SLA cycle: its state now, the next due time, and each target."""

    state: State
    """`breached` once a target is past due (or stopped late), `at_risk` with under 20 % of one left, `paused`
    while the conversation is in a status that pauses the clock (`due_at` is then null)."""
    due_at: datetime | None
    started_at: datetime
    first_response_due: datetime | None
    first_responded_at: datetime | None
    first_response_breached: bool
    resolution_due: datetime | None
    resolved_at: datetime | None
    resolution_breached: bool
    paused_at: datetime | None = None
    """Since when the clock is paused (on an ended cycle: the pause it ended in)."""


def sla_out(clock: SlaClock | None, now: datetime | None = None) -> SlaOut | None:
    """The API view of a conversation's SLA clock read at `now` (None without a clock)."""
    status = sla_status(clock, now or datetime.now(UTC))
    if status is None or clock is None:
        return None
    return SlaOut(
        state=status.state.value,
        due_at=status.next_due,
        started_at=clock.started_at,
        first_response_due=clock.first_response_due,
        first_responded_at=clock.first_responded_at,
        first_response_breached=clock.first_response_breached,
        resolution_due=clock.resolution_due,
        resolved_at=clock.resolved_at,
        resolution_breached=clock.resolution_breached,
        paused_at=clock.paused_at,
    )


def hours_io(hours: sla_settings.HoursForm) -> BusinessHoursIO:
    """The API view of the business hours."""
    intervals = [IntervalIO(DAY_NAMES[i.weekday], i.start, i.end) for i in hours.intervals]
    return BusinessHoursIO(hours.timezone, intervals, [date.fromisoformat(day) for day in hours.holidays])


def policy_io(policy: sla_settings.PolicyForm) -> SlaPolicyIO:
    """The API view of the SLA policy."""
    return SlaPolicyIO(
        name=policy.name,
        enabled=policy.enabled,
        first_response_minutes=policy.first_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        business_time=policy.business_time,
        channel_ids=list(policy.channel_ids),
        pause_on=[status for status in ("pending", "snoozed") if status in policy.pause_on],
    )


SLA_ERRORS: ExceptionHandlersMap = {ScheduleError: problem_with(400)}


class BusinessHoursController(Controller):
    """The workspace's business hours."""

    path = "/business-hours"
    tags = ("sla",)
    exception_handlers = SLA_ERRORS

    @get("/", guards=ADMIN, summary="The workspace's business hours")
    async def show(self, principal: Caller) -> BusinessHoursIO:
        """Open intervals per weekday in the workspace's timezone, and holidays; none: always open."""
        return hours_io(await sla_settings.read_hours(principal.scope))

    @put("/", guards=ADMIN, summary="Replace the workspace's business hours")
    async def replace(self, principal: Caller, data: JSONBody[BusinessHoursIO], now: Now) -> BusinessHoursIO:
        """Checked whole: 400 for an unknown timezone, an interval outside a day or overlapping another."""
        intervals = [sla_settings.IntervalForm(DAY_NAMES.index(i.day), i.start, i.end) for i in data.intervals]
        wanted = sla_settings.HoursForm(data.timezone, intervals, [day.isoformat() for day in data.holidays])
        return hours_io(await sla_settings.save_hours(principal.scope, wanted, now, principal.actor))


class SlaPolicyController(Controller):
    """The workspace's SLA policy."""

    path = "/sla-policy"
    tags = ("sla",)
    exception_handlers = SLA_ERRORS

    @get("/", guards=ADMIN, summary="The workspace's SLA policy")
    async def show(self, principal: Caller) -> SlaPolicyIO:
        """First-response and resolution targets; a workspace without one measures nothing."""
        return policy_io(await sla_settings.read_policy(principal.scope))

    @put("/", guards=ADMIN, summary="Replace the workspace's SLA policy")
    async def replace(self, principal: Caller, data: JSONBody[SlaPolicyIO], now: Now) -> SlaPolicyIO:
        """Applies to conversations whose clock starts after the change; 400 for a channel not in the workspace."""
        wanted = sla_settings.PolicyForm(
            name=data.name,
            enabled=data.enabled,
            first_response_minutes=data.first_response_minutes,
            resolution_minutes=data.resolution_minutes,
            business_time=data.business_time,
            channel_ids=tuple(data.channel_ids),
            pause_on=tuple(data.pause_on),
        )
        return policy_io(await sla_settings.save_policy(principal.scope, wanted, now, principal.actor))

"""Business time: when a workspace is open, and arithmetic in open time only (pure functions, no storage).

A schedule is a weekly list of open intervals in local wall-clock minutes (09:00–18:00 is `(540, 1080)`), a
set of local holidays, and an IANA timezone. Every computation turns one local day at a time into instants
(UTC) and works on those, so a DST change is simply a shorter or longer real day: 09:00–18:00 on the day
clocks go forward is still nine real hours, an interval across the skipped hour is an hour shorter, and one
across the repeated hour an hour longer. A local time that does not exist (inside the skipped hour) means
the first minute that does; one that exists twice (the repeated hour) means its first occurrence.

An overnight shift is two intervals (Monday 22:00–24:00 and Tuesday 00:00–06:00); they meet at midnight
and count as one stretch of open time. A schedule without any interval is open around the clock (holidays
still closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
DAYS_PER_WEEK = 7
MAX_DAYS = 3660
"""How far (ten years) arithmetic looks for open time before it says a schedule is never open."""
ONE_DAY = timedelta(days=1)
Interval = tuple[int, int]
"""Open from `start` to `end` minutes after local midnight; 0 <= start < end <= 1440."""
Span = tuple[datetime, datetime]
"""Open from one instant (UTC) to another."""


class ScheduleError(ValueError):
    """A schedule that cannot be used as given (an unknown timezone, overlapping intervals…); says what."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a workspace is open: per weekday (Monday first) its intervals, its holidays, its timezone."""

    timezone: ZoneInfo
    week: tuple[tuple[Interval, ...], ...] = ((),) * DAYS_PER_WEEK
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def always_open(self) -> bool:
        """Open around the clock (but on holidays): no interval on any day."""
        return not any(self.week)


ALWAYS_OPEN = Schedule(ZoneInfo("UTC"))


def zone(name: str) -> ZoneInfo:
    """The IANA timezone of this name; ScheduleError for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"Unknown timezone {name!r}: use an IANA name such as Asia/Shanghai") from None


def check_day(intervals: Iterable[Interval], day_name: str = "a day") -> tuple[Interval, ...]:
    """One day's intervals sorted, with touching ones joined; ScheduleError for a bad or overlapping one."""
    ordered = sorted(intervals)
    joined: list[Interval] = []
    for start, end in ordered:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ScheduleError(f"{day_name}: {clock(start)}–{clock(end)} is not an interval within one day")
        if joined and start < joined[-1][1]:
            previous = joined[-1]
            raise ScheduleError(
                f"{day_name}: {clock(start)}–{clock(end)} overlaps {clock(previous[0])}–{clock(previous[1])}"
            )
        if joined and start == joined[-1][1]:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return tuple(joined)


def make_schedule(
    timezone: str, week: Mapping[int, Sequence[Interval]] | None = None, holidays: Iterable[date] = ()
) -> Schedule:
    """A checked schedule: `week` maps a weekday (0 Monday … 6 Sunday) to its intervals; None: always open."""
    days: list[tuple[Interval, ...]] = [()] * DAYS_PER_WEEK
    for weekday, intervals in (week or {}).items():
        if not 0 <= weekday < DAYS_PER_WEEK:
            raise ScheduleError(f"Weekday {weekday} does not exist: use 0 (Monday) to 6 (Sunday)")
        days[weekday] = check_day(intervals, WEEKDAYS[weekday])
    return Schedule(zone(timezone), tuple(days), frozenset(holidays))


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def clock(minute: int) -> str:
    """Minutes after midnight as `HH:MM` (1440 is `24:00`)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_clock(text: str) -> int:
    """`HH:MM` (00:00 to 24:00) as minutes after midnight; ScheduleError otherwise."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ScheduleError(f"{text!r} is not a time of day: write HH:MM, such as 09:00 or 24:00")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        raise ScheduleError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The instant (UTC) a local wall clock shows `minute` on `day`; see the module for skipped and repeated times."""
    day, minute = day + timedelta(days=minute // MINUTES_PER_DAY), minute % MINUTES_PER_DAY
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    for _ in range(MINUTES_PER_DAY + 1):  # a skipped stretch is at most a day (Samoa, 30 December 2011)
        instant = wall.replace(tzinfo=tz).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            return instant
        wall += timedelta(minutes=1)
    raise ScheduleError(f"{tz.key} has no wall-clock time near {day} {clock(minute)}")


@lru_cache(maxsize=8192)
def open_spans(schedule: Schedule, day: date) -> tuple[Span, ...]:
    """The open stretches of one local day, as instants, in order (none on a holiday).

    Cached: a batch of clocks started together in one workspace reads the same few days again and again.
    """
    if day in schedule.holidays:
        return ()
    intervals = ((0, MINUTES_PER_DAY),) if schedule.always_open else schedule.week[day.weekday()]
    spans = []
    for start, end in intervals:
        opens, closes = local_instant(day, start, schedule.timezone), local_instant(day, end, schedule.timezone)
        if opens < closes:
            spans.append((opens, closes))
    return tuple(spans)


def _spans_from(schedule: Schedule, start: datetime) -> Iterator[Span]:
    """Every open stretch that ends after `start`, in order, clipped to begin no earlier than it."""
    day = start.astimezone(schedule.timezone).date()
    for _ in range(MAX_DAYS):
        for opens, closes in open_spans(schedule, day):
            if closes > start:
                yield max(opens, start), closes
        day += ONE_DAY
    raise ScheduleError(f"No open time within {MAX_DAYS // 366} years of {start.isoformat()}")


def add_business_time(schedule: Schedule, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of open time has passed since `start` (UTC).

    From a closed moment the count begins at the next opening; a zero duration is `start` itself.
    """
    if duration < timedelta(0):
        raise ValueError("A business-time duration cannot be negative")
    start = start.astimezone(UTC)
    if not duration:
        return start
    left = duration
    for opens, closes in _spans_from(schedule, start):
        if opens + left <= closes:
            return opens + left
        left -= closes - opens
    raise AssertionError("unreachable: _spans_from raises when it runs out")  # pragma: no cover


def business_time_between(schedule: Schedule, start: datetime, end: datetime) -> timedelta:
    """How much open time lies between two instants (zero when `end` is not after `start`)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    day, last = start.astimezone(schedule.timezone).date(), end.astimezone(schedule.timezone).date()
    while day <= last:
        for opens, closes in open_spans(schedule, day):
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        day += ONE_DAY
    return total


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Is the workspace open at this instant?"""
    day = at.astimezone(schedule.timezone).date()
    return any(opens <= at < closes for opens, closes in open_spans(schedule, day))

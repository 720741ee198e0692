"""When things happened in the demo: times relative to `now`, in calendar or in business time.

A demo item says `minutes_ago` (calendar time) or `business_minutes_ago` (open time of the demo's business
hours). The second places a message so that its SLA clock stands the same whenever the demo is loaded: 600
business minutes ago is past a one-hour first-response target on a Sunday night as on a Tuesday morning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scrm.inbox.business_hours import MAX_DAYS, ONE_DAY, Schedule, ScheduleError, open_spans


def business_before(schedule: Schedule, end: datetime, duration: timedelta) -> datetime:
    """The instant from which `duration` of open time has passed by `end` (the inverse of `add_business_time`)."""
    if duration < timedelta(0):
        raise ValueError("A business-time duration cannot be negative")
    end = end.astimezone(UTC)
    if not duration:
        return end
    left = duration
    day = end.astimezone(schedule.timezone).date()
    for _ in range(MAX_DAYS):
        for opens, closes in reversed(open_spans(schedule, day)):
            closes = min(closes, end)
            if closes <= opens:
                continue
            if closes - opens >= left:
                return closes - left
            left -= closes - opens
        day -= ONE_DAY
    raise ScheduleError(f"No open time within {MAX_DAYS // 366} years before {end.isoformat()}")


@dataclass(frozen=True, slots=True)
class Timeline:
    """The demo's clock: `now` and the business hours that `business_minutes_ago` counts in."""

    now: datetime
    schedule: Schedule

    def at(self, spec: Mapping[str, Any], key: str = "minutes_ago") -> datetime:
        """When the item happened: `business_<key>` in open time when given, else `<key>` in calendar minutes."""
        business = spec.get(f"business_{key}")
        if business is not None:
            return business_before(self.schedule, self.now, timedelta(minutes=business))
        return self.now - timedelta(minutes=spec[key])

"""The SLA chip of a conversation in the inbox list and view: its state and the time left, for the template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scrm.auth.roles import Permission
from scrm.inbox.sla import SlaState, sla_status
from scrm.models import SlaClock

MANAGE_SLA = Permission.MANAGE_CHANNELS
"""Owners and admins: those who configure the channels configure how fast the team answers on them."""


@dataclass(frozen=True, slots=True)
class SlaChip:
    """What a conversation's SLA chip says: its state and, while a target runs, the time left to it."""

    state: str
    due: datetime | None
    days: int = 0
    hours: int = 0
    minutes: int = 0
    paused_at: datetime | None = None
    """While the clock is paused: since when."""


def chip_of(clock: SlaClock | None, now: datetime) -> SlaChip | None:
    """The chip of a conversation's clock at `now` (None without a clock)."""
    status = sla_status(clock, now)
    if status is None:
        return None
    left = status.left(now) or timedelta(0)
    whole_minutes = int(left.total_seconds() // 60)
    days, rest = divmod(whole_minutes, 24 * 60)
    since = status.clock.paused_at if status.state is SlaState.PAUSED else None
    return SlaChip(status.state.value, status.next_due, days, rest // 60, rest % 60, since)

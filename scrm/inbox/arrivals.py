"""What the inbox does when the pipeline has recorded (and tagged) a batch of inbound events.

One place, called by `pipeline.process_many` before the batch is marked handled, so a crash replays these
steps too: each step must therefore be idempotent (run twice, it changes nothing the second time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from scrm.events import Event
from scrm.inbox.assignment import assign_arrivals
from scrm.inbox.csat import record_answers
from scrm.inbox.sla import start_clocks

ArrivalStep = Callable[[Sequence[Event], datetime], Awaitable[None]]

STEPS: tuple[ArrivalStep, ...] = (assign_arrivals, record_answers, start_clocks)
"""The steps, in order; each gets the batch's new events (never None) and the pipeline's clock."""


async def on_arrivals(events: Sequence[Event | None], now: datetime) -> None:
    """Run every inbox step over the events of a batch that were new (None marks an item handled before)."""
    fresh = [event for event in events if event is not None]
    if not fresh:
        return
    for step in STEPS:
        await step(fresh, now)

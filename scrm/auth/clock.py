"""The clock a running app reads: real UTC time, or the fixed clock a test puts on the app's state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from scrm.models.base import utcnow

Clock = Callable[[], datetime]
STATE_KEY = "clock"


def now_of(state: Mapping[str, Any]) -> datetime:
    """The current time for this app: `state["clock"]()` when a clock is set, else UTC now."""
    clock: Clock = state.get(STATE_KEY) or utcnow
    return clock()

"""Pacing platform calls: an injectable clock and a token bucket per channel."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``calls`` platform calls in any ``per`` interval, for one channel."""

    calls: int
    per: timedelta

    @property
    def per_second(self) -> float:
        """The sustained rate in calls per second."""
        return self.calls / self.per.total_seconds()


MIN_SLEEP = 0.001


class Clock(Protocol):
    """Where time comes from: wall time for expiries, monotonic time and sleeping for pacing."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        ...

    def monotonic(self) -> float:
        """Return seconds from an arbitrary fixed point; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking other tasks."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(seconds)


class TokenBucket:
    """Let at most ``capacity`` calls through at once and refill at ``rate`` calls per second.

    Waiters are served in arrival order (an ``asyncio.Lock`` is FIFO), so a burst of senders shares the
    channel's rate fairly.
    """

    def __init__(self, rate: float, capacity: float, clock: Clock) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs a positive rate and room for one call")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one call may be made, then take its token."""
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                # At least a millisecond: float error can leave 0.9999… tokens, and a sleep too small to move
                # the clock would then spin forever.
                await self._clock.sleep(max((1 - self._tokens) / self.rate, MIN_SLEEP))

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now


class ChannelBuckets:
    """One token bucket per channel, created on first use.

    Keep one instance per process: every stream and sender of a channel must wait on the same bucket.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def for_channel(self, channel_id: str, limit: RateLimit) -> TokenBucket:
        """Return the channel's bucket for its platform's declared rate limit, bursting up to ``limit.calls``."""
        bucket = self._buckets.get(channel_id)
        if bucket is None:
            bucket = TokenBucket(limit.per_second, limit.calls, self._clock)
            self._buckets[channel_id] = bucket
        return bucket

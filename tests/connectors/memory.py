"""In-memory stand-ins for the stores and the clock, for tests only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from scrm.connectors.stores import AccessToken, CursorValue

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when someone sleeps, and remembers every sleep."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        """Return the start time plus all time slept."""
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        """Return the seconds slept so far."""
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock on at once."""
        self.sleeps.append(seconds)
        self.elapsed += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Let time pass without anyone sleeping."""
        self.elapsed += seconds


class InMemoryCursorStore:
    """Cursors in a dict, keyed by (channel, stream)."""

    def __init__(self) -> None:
        self.cursors: dict[tuple[str, str], CursorValue] = {}
        self.saves: list[CursorValue] = []

    async def find_cursor(self, channel_id: str, stream: str) -> CursorValue | None:
        """Return the saved cursor, if any."""
        return self.cursors.get((channel_id, stream))

    async def save_cursor(self, channel_id: str, stream: str, value: CursorValue) -> None:
        """Save and record the cursor."""
        self.cursors[(channel_id, stream)] = value
        self.saves.append(value)


class InMemoryTokenStore:
    """Access tokens in a dict, with compare-and-set and one asyncio lock per key."""

    def __init__(self) -> None:
        self.tokens: dict[str, AccessToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def find_token(self, key: str) -> AccessToken | None:
        """Return the stored token, if any."""
        return self.tokens.get(key)

    async def save_token(self, key: str, token: AccessToken, *, replaces: str | None) -> bool:
        """Store the token only over the value the caller saw."""
        current = self.tokens.get(key)
        if (current.value if current else None) != replaces:
            return False
        self.tokens[key] = token
        return True

    def refresh_lock(self, key: str) -> asyncio.Lock:
        """Return the key's lock."""
        return self._locks.setdefault(key, asyncio.Lock())

"""Fixed-window rate limits counted in MongoDB, so every scrm process shares them (API calls, failed logins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from scrm.models import RateCounter

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The count in the current window against its limit, and when the window ends."""

    hits: int
    limit: int
    reset_at: datetime

    @property
    def allowed(self) -> bool:
        """Is this hit within the limit?"""
        return self.hits <= self.limit

    @property
    def remaining(self) -> int:
        """How many more hits the window allows."""
        return max(self.limit - self.hits, 0)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(int((self.reset_at - now).total_seconds() + 0.999), 1)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window that holds `now`."""
    elapsed = (now - EPOCH) // window
    return EPOCH + elapsed * window


async def hit(key: str, limit: int, window: timedelta, now: datetime) -> RateDecision:
    """Count one hit of `key` in the current window (atomically) and say whether it is within `limit`."""
    start = window_start(now, window)
    collection = RateCounter.get_pymongo_collection()
    for _ in range(2):  # two first hits racing: one inserts, the other retries and increments
        try:
            counter = await collection.find_one_and_update(
                {"key": key, "window_start": start},
                {"$inc": {"hits": 1}, "$setOnInsert": {"expires_at": start + 2 * window}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            if counter is not None:
                return RateDecision(hits=int(counter["hits"]), limit=limit, reset_at=start + window)
        except DuplicateKeyError:
            continue
    raise RuntimeError(f"Could not count a hit of {key!r}")


async def peek(key: str, limit: int, window: timedelta, now: datetime) -> RateDecision:
    """The current window's count of `key`, without counting a hit."""
    start = window_start(now, window)
    counter = await RateCounter.find_one({"key": key, "window_start": start})
    return RateDecision(hits=counter.hits if counter else 0, limit=limit, reset_at=start + window)


async def forget(key: str) -> None:
    """Drop every count of `key` (after a successful login, its failures no longer count)."""
    await RateCounter.find({"key": key}).delete()

"""RateCounter: how many times something happened in one time window, shared by every scrm process."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel


class RateCounter(Document):
    """Hits of one key (a token, an email, an address) in the window starting at `window_start`.

    Counting happens with one atomic upsert-and-increment, so several processes share one limit.
    """

    key: str
    window_start: datetime
    hits: int = 0
    expires_at: datetime

    class Settings:
        name = "rate_counters"
        indexes = [
            IndexModel([("key", ASCENDING), ("window_start", ASCENDING)], unique=True, name="window_unique"),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
        ]

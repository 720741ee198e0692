"""The raw-event queue: workers claim pending deliveries with a lease, and mark each processed or failed.

A claim is one `update_many` over candidate ids that are still claimable, tagged with a fresh lease owner,
so two workers can never hold the same event; a worker that dies leaves its lease to expire, and the
events go back to whoever claims next.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId

from scrm.models import RawEvent, RawEventStatus

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5


def claimable(now: datetime) -> dict[str, Any]:
    """Pending events, and events whose worker's lease has run out."""
    return {
        "$or": [
            {"status": RawEventStatus.PENDING.value, "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]},
            {"status": RawEventStatus.PROCESSING.value, "lease_until": {"$lte": now}},
        ]
    }


async def claim(now: datetime, limit: int = 100, lease: timedelta = LEASE) -> list[RawEvent]:
    """Claim up to `limit` events, oldest first, for this caller alone, until `now + lease`."""
    collection = RawEvent.get_pymongo_collection()
    candidates = collection.find(claimable(now), {"_id": 1}).sort("received_at", 1).limit(limit)
    ids = [row["_id"] async for row in candidates]
    if not ids:
        return []
    owner = uuid.uuid4().hex
    await collection.update_many(
        {"_id": {"$in": ids}, **claimable(now)},
        {"$set": {"status": RawEventStatus.PROCESSING.value, "lease_until": now + lease, "lease_owner": owner},
         "$inc": {"attempts": 1}},
    )  # fmt: skip
    return await RawEvent.find(RawEvent.lease_owner == owner).sort("+received_at").to_list()


async def mark_processed(events: Sequence[RawEvent], now: datetime, keep: timedelta) -> None:
    """The events' items are all recorded: keep the raw bodies for `keep` (for replays), then let them expire."""
    if not events:
        return
    done = {"status": RawEventStatus.PROCESSED.value, "processed_at": now, "expire_at": now + keep, "lease_owner": None}
    await RawEvent.get_pymongo_collection().update_many(
        {"$or": [{"_id": event.id, "lease_owner": event.lease_owner} for event in events]}, {"$set": done}
    )


async def mark_failed(event: RawEvent, error: str, now: datetime) -> None:
    """The body cannot be processed: keep it, with the error, until someone replays it."""
    await _finish(event, {"status": RawEventStatus.FAILED.value, "error": error[:2000], "processed_at": now})


async def retry_later(event: RawEvent, error: str, now: datetime) -> None:
    """A passing problem (the database, a platform call): back off, and fail after MAX_ATTEMPTS."""
    if event.attempts >= MAX_ATTEMPTS:
        await mark_failed(event, f"gave up after {event.attempts} attempts: {error}", now)
        return
    backoff = timedelta(seconds=2**event.attempts)
    await _finish(event, {"status": RawEventStatus.PENDING.value, "error": error[:2000], "lease_until": now + backoff})


async def hold(event: RawEvent, until: datetime) -> None:
    """Put a claimed event back as pending until `until`, its claim not counted as an attempt (a disabled channel)."""
    await RawEvent.get_pymongo_collection().update_one(
        {"_id": event.id, "lease_owner": event.lease_owner},
        {"$set": {"status": RawEventStatus.PENDING.value, "lease_until": until, "lease_owner": None},
         "$inc": {"attempts": -1}},
    )  # fmt: skip


async def replay(ids: Sequence[PydanticObjectId]) -> int:
    """Put failed or processed events back in the queue; returns how many."""
    result = await RawEvent.get_pymongo_collection().update_many(
        {"_id": {"$in": list(ids)}, "status": {"$in": [RawEventStatus.FAILED.value, RawEventStatus.PROCESSED.value]}},
        {"$set": {"status": RawEventStatus.PENDING.value, "lease_until": None, "lease_owner": None,
                  "attempts": 0, "expire_at": None}},
    )  # fmt: skip
    return result.modified_count


async def failed_ids() -> list[PydanticObjectId]:
    """The ids of every failed event."""
    rows = RawEvent.get_pymongo_collection().find({"status": RawEventStatus.FAILED.value}, {"_id": 1})
    return [PydanticObjectId(row["_id"]) async for row in rows]


async def _finish(event: RawEvent, changes: dict[str, Any]) -> None:
    await RawEvent.get_pymongo_collection().update_one(
        {"_id": event.id, "lease_owner": event.lease_owner}, {"$set": {**changes, "lease_owner": None}}
    )

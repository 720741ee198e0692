"""RawEvent: a platform's delivery exactly as it arrived, kept until it has been processed (and then some)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class RawEventStatus(StrEnum):
    """Pending until a worker has recorded it; failed keeps the error and waits for a replay."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class RawEvent(WorkspaceDocument):
    """One verified webhook delivery; (channel, event id) is unique, so a redelivery is a quiet no-op."""

    channel_id: PydanticObjectId
    platform: str
    event_id: str
    body: bytes
    headers: dict[str, str] = Field(default_factory=dict)
    status: RawEventStatus = RawEventStatus.PENDING
    error: str = ""
    attempts: int = 0
    received_at: datetime
    lease_until: datetime | None = None
    lease_owner: str | None = None
    processed_at: datetime | None = None
    expire_at: datetime | None = None

    class Settings:
        name = "raw_events"
        indexes = [
            IndexModel([("channel_id", ASCENDING), ("event_id", ASCENDING)], unique=True, name="delivery_unique"),
            IndexModel([("status", ASCENDING), ("received_at", ASCENDING)], name="work_queue"),
            IndexModel([("lease_owner", ASCENDING)], sparse=True, name="lease_owner"),
            # Processed events get `expire_at` = processed time + SCRM_RAW_EVENT_TTL_DAYS; MongoDB removes them.
            IndexModel([("expire_at", ASCENDING)], expireAfterSeconds=0, name="retention"),
        ]

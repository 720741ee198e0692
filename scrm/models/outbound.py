"""OutboundMessage: every message we send, from the inbox, a journey or a campaign — the one road out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class OutboundStatus(StrEnum):
    """Queued until delivery claims it; sent carries the platform's message id."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboundMessage(WorkspaceDocument):
    """A message waiting to be sent or already sent; its `dedupe_key` makes a second enqueue a no-op."""

    dedupe_key: str
    channel_id: PydanticObjectId
    contact_id: PydanticObjectId
    conversation_id: PydanticObjectId | None = None
    source: str
    payload: dict[str, Any] = Field(default_factory=dict)
    status: OutboundStatus = OutboundStatus.QUEUED
    attempts: int = 0
    not_before: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None
    """The delivery round holding the row; only its holder may start sending it."""
    sending_at: datetime | None = None
    """When the platform call started: a row still `sending` after its lease may or may not have gone out."""
    resend_after_crash: bool = False
    """The source prefers a possible duplicate to a lost message: after a crash mid-send, send it again."""
    external_id: str | None = None
    error: str = ""
    sent_at: datetime | None = None

    class Settings:
        name = "outbound_messages"
        indexes = [
            IndexModel([("dedupe_key", ASCENDING)], unique=True, name="dedupe_unique"),
            IndexModel([("status", ASCENDING), ("not_before", ASCENDING)], name="delivery_queue"),
            IndexModel([("workspace_id", ASCENDING), ("contact_id", ASCENDING)], name="workspace_contact"),
            IndexModel([("contact_id", ASCENDING), ("sent_at", ASCENDING)], name="contact_sent"),
        ]

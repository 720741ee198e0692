"""Conversation: one thread with one contact on one channel, worked on in the inbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class ConversationStatus(StrEnum):
    """Where a conversation stands in the inbox; a new inbound message reopens a resolved one."""

    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class LatestTags(BaseModel):
    """What the tagger (or a person's correction) says of the conversation's latest tagged inbound message."""

    sentiment: str | None = None
    intent: str | None = None
    language: str | None = None
    at: datetime


class Conversation(WorkspaceDocument):
    """A thread: a private chat, a DM thread, a WeChat customer-service session."""

    channel_id: PydanticObjectId
    contact_id: PydanticObjectId
    platform: str
    external_id: str
    status: ConversationStatus = ConversationStatus.OPEN
    assignee_id: PydanticObjectId | None = None
    team_id: PydanticObjectId | None = None
    labels: list[str] = Field(default_factory=list)
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_message_preview: str = ""
    unread_count: int = 0
    snoozed_until: datetime | None = None
    latest_tags: LatestTags | None = None
    """Kept by the pipeline so the inbox filters by sentiment and intent with one indexed query."""

    class Settings:
        name = "conversations"
        indexes = [
            IndexModel([("channel_id", ASCENDING), ("external_id", ASCENDING)], unique=True, name="thread_unique"),
            IndexModel(
                [("workspace_id", ASCENDING), ("status", ASCENDING), ("last_message_at", DESCENDING)],
                name="inbox_by_status",
            ),
            IndexModel([("workspace_id", ASCENDING), ("contact_id", ASCENDING)], name="workspace_contact"),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("latest_tags.sentiment", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                ],
                name="inbox_sentiment",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("latest_tags.intent", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                ],
                name="inbox_intent",
            ),
            # The inbox list: newest activity first, `_id` breaking ties so that cursors are exact.
            IndexModel(
                [("workspace_id", ASCENDING), ("last_message_at", DESCENDING), ("_id", DESCENDING)],
                name="inbox_recent",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_status_recent",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                ],
                name="inbox_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("assignee_id", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                ],
                name="inbox_assignee",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("labels", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                ],
                name="inbox_labels",
            ),
            IndexModel(
                [("snoozed_until", ASCENDING)],
                partialFilterExpression={"status": ConversationStatus.SNOOZED.value},
                name="snooze_due",
            ),
        ]

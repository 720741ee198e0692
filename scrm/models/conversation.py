"""Conversation: one thread with one contact on one channel, worked on in the inbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument
from scrm.models.sla import SlaClock


class ConversationStatus(StrEnum):
    """Where a conversation stands in the inbox; a new inbound message reopens a resolved, snoozed or pending one."""

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
    sla: SlaClock | None = None
    """The current SLA cycle (scrm.inbox.sla): due times, when each target stopped, whether it was breached."""
    reply_token: str = ""
    """The newest inbound message's single-use reply token (LINE `replyToken`); emptied by the reply that spends it."""
    reply_token_at: datetime | None = None
    """When that message was sent; the token's lifetime counts from it. Kept after the token is spent, so an older
    message ingested late never brings back an older token."""
    waiting_since: datetime | None = None
    """Since when the contact has been waiting for an answer: the first inbound message after the team's last
    reply (set by ingest when empty), emptied when an agent's reply is accepted (`scrm.inbox.replies`)."""

    class Settings:
        name = "conversations"
        indexes = [
            IndexModel([("channel_id", ASCENDING), ("external_id", ASCENDING)], unique=True, name="thread_unique"),
            IndexModel([("workspace_id", ASCENDING), ("contact_id", ASCENDING)], name="workspace_contact"),
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
            # Filtered lists: the filter's field and the status, then one range per channel in (time, id) order.
            # The list names its channels (an agent's, or all that have conversations: `by_channel` in
            # scrm/inbox/conversations.py), so MongoDB merges those ranges for the page and counts each status
            # from the index alone, with no document read for an agent's channel restriction.
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_channel_recent",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_status_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("assignee_id", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_assignee_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("labels", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_labels_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("latest_tags.sentiment", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_sentiment_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("latest_tags.language", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="inbox_language_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("latest_tags.intent", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                    ("latest_tags.sentiment", ASCENDING),  # intent and sentiment together: counted from the index
                ],
                name="inbox_intent_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("status", ASCENDING),
                    ("channel_id", ASCENDING),
                    ("last_message_at", DESCENDING),
                    ("_id", DESCENDING),
                    ("unread_count", ASCENDING),
                ],
                partialFilterExpression={"unread_count": {"$gt": 0}},
                name="inbox_unread_channel",
            ),
            IndexModel(
                [
                    ("workspace_id", ASCENDING),
                    ("team_id", ASCENDING),
                    ("status", ASCENDING),
                    ("last_message_at", DESCENDING),
                ],
                name="inbox_team",
            ),
            IndexModel(
                [("snoozed_until", ASCENDING)],
                partialFilterExpression={"status": ConversationStatus.SNOOZED.value},
                name="snooze_due",
            ),
            # SLA filters: breached is `sla.breached_at <= now`, at risk `sla.warn_at <= now < sla.breached_at`.
            IndexModel(
                [("workspace_id", ASCENDING), ("sla.breached_at", ASCENDING)],
                partialFilterExpression={"sla.breached_at": {"$type": "date"}},
                name="sla_due",
            ),
            # Sort by waiting time (`sort=waiting`): longest waiting first, `_id` breaking ties for exact cursors.
            IndexModel(
                [("workspace_id", ASCENDING), ("status", ASCENDING), ("waiting_since", ASCENDING), ("_id", ASCENDING)],
                name="inbox_status_waiting",
            ),
        ]

"""Message: one private message in a conversation, inbound or outbound."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import BaseModel, Field, model_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument
from scrm.search_terms import search_terms


class Direction(StrEnum):
    """Who wrote the message: the contact (inbound) or the workspace (outbound)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Attachment(BaseModel):
    """A photo, voice note, sticker, location or file, as the platform describes it."""

    kind: str
    url: str = ""
    external_id: str = ""
    mime_type: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class Message(WorkspaceDocument):
    """One message; (platform, channel, external id) is unique, so a redelivery cannot store it twice."""

    channel_id: PydanticObjectId
    conversation_id: PydanticObjectId
    contact_id: PydanticObjectId
    platform: str
    external_id: str | None = None
    direction: Direction
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    sent_at: datetime
    edited_at: datetime | None = None
    delivery_status: str | None = None
    tags: dict[str, Any] | None = None
    outbound_id: PydanticObjectId | None = None
    handled_at: datetime | None = None
    """When the pipeline finished with it (tagged, journeys run); None: a replay must finish the job."""
    search_terms: list[str] = Field(default_factory=list)
    """The text cut into search terms (`scrm.search_terms`), for the `workspace_search` index."""

    @model_validator(mode="after")
    def _fill_search_terms(self) -> Message:
        """A message built with text and no terms gets them (a raw insert or update sets them itself)."""
        if self.text and not self.search_terms:
            self.search_terms = search_terms(self.text)
        return self

    class Settings:
        name = "messages"
        indexes = [
            IndexModel(
                [("platform", ASCENDING), ("channel_id", ASCENDING), ("external_id", ASCENDING)],
                unique=True,
                partialFilterExpression={"external_id": {"$type": "string"}},
                name="external_unique",
            ),
            IndexModel([("conversation_id", ASCENDING), ("sent_at", ASCENDING)], name="thread_order"),
            IndexModel(
                [("workspace_id", ASCENDING), ("channel_id", ASCENDING), ("sent_at", DESCENDING)],
                name="channel_recent",
            ),
            IndexModel(
                [("workspace_id", ASCENDING), ("channel_id", ASCENDING), ("_id", DESCENDING)], name="channel_page"
            ),
            IndexModel(
                [("workspace_id", ASCENDING), ("tags.sentiment", ASCENDING), ("_id", DESCENDING)], name="sentiment"
            ),
            IndexModel([("workspace_id", ASCENDING), ("tags.intent", ASCENDING), ("_id", DESCENDING)], name="intent"),
            IndexModel(  # a contact's timeline
                [("workspace_id", ASCENDING), ("contact_id", ASCENDING), ("sent_at", DESCENDING), ("_id", DESCENDING)],
                name="contact_time",
            ),
            IndexModel(  # search in message text, newest first (see `scrm.inbox.search`)
                [("workspace_id", ASCENDING), ("search_terms", ASCENDING), ("sent_at", DESCENDING)],
                name="workspace_search",
            ),
        ]

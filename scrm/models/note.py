"""Note: a private remark on a conversation, seen by the team and never sent to the contact."""

from __future__ import annotations

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class Note(WorkspaceDocument):
    """One private note in a conversation, written by a member (`author`) or an API token."""

    conversation_id: PydanticObjectId
    channel_id: PydanticObjectId
    """The conversation's channel, kept here so that an agent's reach applies to notes without a join."""
    author: str
    """Who wrote it, as the audit log names actors: `user:<id>` or `token:<id>`."""
    author_name: str = ""
    text: str
    mentioned_user_ids: list[PydanticObjectId] = Field(default_factory=list)
    """The members the text @mentions who can see the conversation (`scrm.inbox.mentions`), each once."""

    class Settings:
        name = "notes"
        indexes = [
            IndexModel(
                [("workspace_id", ASCENDING), ("conversation_id", ASCENDING), ("created_at", ASCENDING)],
                name="conversation_notes",
            ),
            IndexModel(
                [("workspace_id", ASCENDING), ("mentioned_user_ids", ASCENDING), ("created_at", DESCENDING)],
                name="mentions",
            ),
        ]

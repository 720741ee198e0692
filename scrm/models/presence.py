"""ConversationPresence: who has a conversation open in the inbox right now, and whether they are typing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class PresenceState(StrEnum):
    """What someone is doing in a conversation they have open."""

    VIEWING = "viewing"
    TYPING = "typing"


class ConversationPresence(WorkspaceDocument):
    """One person (a user, or an API client) present in one conversation; upserted, one per actor and conversation.

    `expires_at` moves forward with every poll; the TTL index removes stale rows, but MongoDB's TTL monitor runs
    only once a minute, so readers also filter on `expires_at` themselves.
    """

    conversation_id: PydanticObjectId
    actor: str
    """`user:<id>` or `token:<id>`, as on the principal: who this is, whatever kind of caller."""
    user_id: PydanticObjectId | None = None
    display_name: str = ""
    state: PresenceState = PresenceState.VIEWING
    typing_at: datetime | None = None
    """The last typing signal; the state reads as typing only for a few seconds after it."""
    seen_at: datetime
    expires_at: datetime

    class Settings:
        name = "conversation_presence"
        indexes = [
            IndexModel(
                [("workspace_id", ASCENDING), ("conversation_id", ASCENDING), ("actor", ASCENDING)],
                unique=True,
                name="one_per_actor",
            ),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires"),
        ]

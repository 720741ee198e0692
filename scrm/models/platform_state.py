"""What connectors keep between calls: pull cursors per (channel, stream) and shared platform access tokens."""

from __future__ import annotations

from datetime import datetime

from beanie import Document, PydanticObjectId
from pymongo import ASCENDING, IndexModel


class SyncCursor(Document):
    """How far one stream of one channel has been pulled (a timestamp, an id or an offset)."""

    workspace_id: PydanticObjectId
    channel_id: PydanticObjectId
    stream: str
    value: str | int
    updated_at: datetime

    class Settings:
        name = "sync_cursors"
        indexes = [IndexModel([("channel_id", ASCENDING), ("stream", ASCENDING)], unique=True, name="stream_unique")]


class PlatformToken(Document):
    """A platform access token shared by every process (WeChat's `access_token`, keyed by app id)."""

    id: str  # type: ignore[assignment]  # the store key, e.g. "wechat:<app_id>"
    value: str = ""
    expires_at: datetime | None = None
    locked_until: datetime | None = None
    """While set in the future, one process is fetching a new token and the others wait for it."""

    class Settings:
        name = "platform_tokens"

"""Channel: one connected account on one platform, and its credentials kept apart."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class ChannelStatus(StrEnum):
    """Whether a channel is working; `unhealthy` keeps every event and waits for a re-authorisation."""

    ACTIVE = "active"
    UNHEALTHY = "unhealthy"
    DISABLED = "disabled"


class Channel(WorkspaceDocument):
    """A Telegram bot, a WeChat Official Account, a Facebook Page…: where messages come from and go to."""

    platform: str
    name: str
    config: dict[str, Any] = Field(default_factory=dict)
    status: ChannelStatus = ChannelStatus.ACTIVE
    status_reason: str = ""
    status_changed_at: datetime | None = None

    class Settings:
        name = "channels"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)], unique=True, name="workspace_name_unique"),
            IndexModel([("workspace_id", ASCENDING), ("platform", ASCENDING)], name="workspace_platform"),
        ]


class ChannelCredentials(WorkspaceDocument):
    """A channel's secrets (app secrets, tokens, AES keys), one document per channel, apart from the channel.

    Kept in their own collection so that listing channels never reads a secret, and so that they can be
    sealed with the workspace's key without touching the rest of the model.
    """

    channel_id: PydanticObjectId
    values: dict[str, str] = Field(default_factory=dict)

    class Settings:
        name = "channel_credentials"
        indexes = [IndexModel([("channel_id", ASCENDING)], unique=True, name="channel_unique")]

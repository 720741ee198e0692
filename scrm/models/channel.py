"""Channel: one connected account on one platform, and its credentials kept apart."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument
from scrm.models.sealed import SecretBox


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
    sync_due_at: datetime | None = None
    """When the scheduler next pulls the channel from its platform; None: at the next tick."""
    synced_at: datetime | None = None
    """When the last pull sync of the channel ended."""
    sync_problem: str = ""
    """What the last pull sync could not do (a stream skipped or failed, and why); empty when all went well."""
    sync_lease_until: datetime | None = None
    """While in the future, the process named by `sync_lease_holder` is pulling the channel and no other may."""
    sync_lease_holder: str = ""
    credentials_checked_at: datetime | None = None
    """When the platform was last asked whether the channel's credentials work (by hand or by the schedule)."""
    credentials_warning: str = ""
    """What the last check warned of though the credentials still work (a token ending soon); empty: nothing."""
    credentials_expire_at: datetime | None = None
    """With a warning: when the credentials stop working (re-authorise before then); cleared by a fresh check."""

    class Settings:
        name = "channels"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)], unique=True, name="workspace_name_unique"),
            IndexModel([("workspace_id", ASCENDING), ("platform", ASCENDING)], name="workspace_platform"),
            IndexModel([("sync_due_at", ASCENDING)], name="sync_due"),
        ]


class ChannelCredentials(WorkspaceDocument):
    """A channel's secrets (app secrets, tokens, AES keys), one document per channel, apart from the channel.

    Kept in their own collection so that listing channels never reads a secret, and so that they can be
    sealed with the workspace's key without touching the rest of the model.
    """

    channel_id: PydanticObjectId
    values: dict[str, str] = Field(default_factory=dict)
    """Name (`bot_token`, `app_secret`…) -> sealed value (`scrm.models.sealed`); never plain text."""

    class Settings:
        name = "channel_credentials"
        indexes = [IndexModel([("channel_id", ASCENDING)], unique=True, name="channel_unique")]

    def seal(self, box: SecretBox, plaintext: Mapping[str, str]) -> None:
        """Replace the stored values by these, each sealed and bound to this channel and name."""
        self.values = {name: box.seal(value, self.seal_context(name)) for name, value in plaintext.items()}

    def reveal(self, box: SecretBox) -> dict[str, str]:
        """The plain values; a SecretKeyError (with what to do) when the key in use did not seal them."""
        return {name: box.open(value, self.seal_context(name)) for name, value in self.values.items()}

    def secret(self, box: SecretBox, name: str) -> str:
        """One plain value by name; KeyError when the channel has no such credential."""
        return box.open(self.values[name], self.seal_context(name))

    def seal_context(self, name: str) -> str:
        """What a sealed value is bound to: this workspace, this channel and the credential's name."""
        return f"channel-credentials/{self.workspace_id}/{self.channel_id}/{name}"

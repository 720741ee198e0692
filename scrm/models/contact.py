"""Contact: the unified customer profile, one person across every channel."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import BaseModel, Field, model_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class Identity(BaseModel):
    """One account of the person on one platform: (platform, external id) names it everywhere."""

    platform: str
    external_id: str
    key: str = ""
    channel_id: PydanticObjectId | None = None
    username: str = ""
    display_name: str = ""
    avatar_url: str = ""

    @model_validator(mode="after")
    def _derive_key(self) -> Identity:
        # One field holding both parts: a compound multikey index over two fields of the same array would
        # index every platform with every external id of the contact and refuse innocent combinations.
        self.key = identity_key(self.platform, self.external_id)
        return self


def identity_key(platform: str, external_id: str) -> str:
    """The unique name of an identity: `platform:external_id`."""
    return f"{platform}:{external_id}"


class ConsentStatus(StrEnum):
    """Whether the person agreed to receive marketing messages."""

    UNKNOWN = "unknown"
    GRANTED = "granted"
    DENIED = "denied"


class Consent(BaseModel):
    """Marketing consent, with where and when it was given or withdrawn."""

    status: ConsentStatus = ConsentStatus.UNKNOWN
    source: str = ""
    changed_at: datetime | None = None


class Contact(WorkspaceDocument):
    """The person behind every identity; messages, comments and follows point to them."""

    identities: list[Identity] = Field(default_factory=list)
    name: str = ""
    avatar_url: str = ""
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    timezone: str | None = None
    consent: Consent = Field(default_factory=Consent)
    blocked: bool = False
    sentiment: float | None = None
    last_seen_at: datetime | None = None
    merged_into: PydanticObjectId | None = None

    class Settings:
        name = "contacts"
        indexes = [
            IndexModel(
                [("workspace_id", ASCENDING), ("identities.key", ASCENDING)],
                unique=True,
                partialFilterExpression={"identities.key": {"$exists": True}},
                name="identity_unique",
            ),
            IndexModel([("workspace_id", ASCENDING), ("last_seen_at", DESCENDING)], name="workspace_recent"),
            IndexModel([("workspace_id", ASCENDING), ("tags", ASCENDING)], name="workspace_tags"),
            IndexModel([("workspace_id", ASCENDING), ("email", ASCENDING)], sparse=True, name="workspace_email"),
            IndexModel([("workspace_id", ASCENDING), ("phone", ASCENDING)], sparse=True, name="workspace_phone"),
            IndexModel(  # the inbox leaves blocked contacts' conversations out of its default list
                [("workspace_id", ASCENDING), ("blocked", ASCENDING)],
                partialFilterExpression={"blocked": True},
                name="workspace_blocked",
            ),
        ]

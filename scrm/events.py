"""Facts the pipeline hands to the engine, as frozen dataclasses passed as arguments (never fired on a bus)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId


@dataclass(frozen=True, slots=True)
class Where:
    """Which workspace, channel and platform a fact happened on."""

    workspace_id: PydanticObjectId
    channel_id: PydanticObjectId
    platform: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A contact wrote to us in a private conversation."""

    where: Where
    contact_id: PydanticObjectId
    conversation_id: PydanticObjectId
    message_id: PydanticObjectId
    text: str
    at: datetime
    tags: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CommentReceived:
    """A contact commented (or replied to a comment) under one of our posts."""

    where: Where
    contact_id: PydanticObjectId
    comment_id: PydanticObjectId
    post_external_id: str
    text: str
    at: datetime
    tags: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PostPublished:
    """A post appeared on one of our channels."""

    where: Where
    post_id: PydanticObjectId
    text: str
    at: datetime
    tags: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ContactFollowed:
    """A contact followed one of our accounts (`source`: a QR-code scene, an ad, when the platform tells)."""

    where: Where
    contact_id: PydanticObjectId
    follow_id: PydanticObjectId
    at: datetime
    source: str = ""


@dataclass(frozen=True, slots=True)
class ContactUnfollowed:
    """A contact stopped following one of our accounts."""

    where: Where
    contact_id: PydanticObjectId
    follow_id: PydanticObjectId
    at: datetime


@dataclass(frozen=True, slots=True)
class InteractionReceived:
    """A contact clicked a menu, scanned a code or changed the bot's membership: neither a message nor a follow."""

    where: Where
    contact_id: PydanticObjectId
    kind: str
    key: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


Event = MessageReceived | CommentReceived | PostPublished | ContactFollowed | ContactUnfollowed | InteractionReceived
"""Any fact the pipeline produces."""

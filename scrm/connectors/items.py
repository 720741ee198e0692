"""Inbound items: what any platform delivers, as plain frozen dataclasses.

Every item carries the platform key and an ``external_id`` that is unique on that platform, so ingest can
upsert on (``platform``, ``external_id``) and a repeated delivery is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AttachmentKind(StrEnum):
    """What an attachment holds."""

    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file, place, contact card or link that came with an item.

    ``media_id`` is the platform's handle for downloading the content later (Telegram ``file_id``,
    WeChat ``MediaId``); ``data`` keeps kind-specific fields such as latitude and longitude.
    """

    kind: AttachmentKind
    media_id: str = ""
    url: str = ""
    mime_type: str = ""
    title: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sender:
    """The platform profile of whoever sent, posted or followed."""

    platform_user_id: str
    display_name: str = ""
    username: str = ""
    avatar_url: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A private or group message sent to one of our channels.

    An edit keeps the message's ``external_id`` and sets ``edited_at``, so ingest can replace the text.
    """

    platform: str
    external_id: str
    conversation_id: str
    sender: Sender
    at: datetime
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    reply_to_id: str = ""
    edited_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    reply_token: str = ""
    """A single-use token for one free reply to this message (LINE ``replyToken``), valid for a short while from
    ``at``; empty on platforms without one."""


@dataclass(frozen=True, slots=True)
class InboundPost:
    """A public post published by a channel or an account it follows."""

    platform: str
    external_id: str
    author: Sender
    at: datetime
    text: str = ""
    url: str = ""
    attachments: tuple[Attachment, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class InboundComment:
    """A comment on a post, or a reply to another comment (``parent_id``)."""

    platform: str
    external_id: str
    post_id: str
    sender: Sender
    at: datetime
    text: str = ""
    parent_id: str = ""
    attachments: tuple[Attachment, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    edited_at: datetime | None = None
    """Set when the author edited the comment: the ``external_id`` stays, so ingest can replace the text."""


@dataclass(frozen=True, slots=True)
class InboundFollow:
    """Someone followed (``following=True``) or stopped following one of our channels.

    ``source`` says how they came, when the platform tells (a WeChat QR-code scene, ``"scan"``).
    """

    platform: str
    external_id: str
    sender: Sender
    at: datetime
    following: bool = True
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """Something a person did that is neither a message nor a follow: a menu click, a QR scan, a bot added.

    ``kind`` is a platform-neutral name (``menu_click``, ``menu_view``, ``scan``, ``chat_member``);
    ``key`` is the menu key, link, scene or new membership status.
    """

    platform: str
    external_id: str
    sender: Sender
    at: datetime
    kind: str
    key: str = ""
    conversation_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class DeliveryState(StrEnum):
    """How far a message we sent has got: the platform's delivery report."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InboundStatus(InboundEvent):
    """A delivery report on a message we sent: sent, delivered, read or failed.

    An ``InboundEvent`` whose ``kind`` is the ``DeliveryState`` and ``key`` the sent message's id, so whatever
    handles events handles it too; ``sender`` is the recipient. Platforms that report a ``watermark`` instead of
    ids (Meta Messenger) leave ``key`` empty: every message sent to the recipient up to ``watermark`` has
    reached the state.
    """

    watermark: datetime | None = None
    error_code: str = ""
    error: str = ""

    @property
    def state(self) -> DeliveryState:
        """The state the message reached."""
        return DeliveryState(self.kind)

    @property
    def message_id(self) -> str:
        """The id the platform gave the sent message, or "" for a watermark report."""
        return self.key


Inbound = InboundMessage | InboundPost | InboundComment | InboundFollow | InboundEvent
"""Any inbound item (an ``InboundStatus`` is an ``InboundEvent``)."""

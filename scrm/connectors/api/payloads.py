"""The generic API channel's inbound shape: a batch of messages, posts, comments and follows, in one JSON body.

    POST /api/v1/channels/{channel_id}/inbound
    Authorization: Bearer <the channel's inbound_token>
    Idempotency-Key: <optional; the same key twice stores the batch once>

    {"events": [
      {"type": "message", "id": "m-1", "conversation_id": "thread-7",
       "from": {"id": "u-42", "name": "Ann Lee", "username": "ann", "avatar_url": "", "language": "en"},
       "text": "Hi, is the blue one in stock?", "at": "2026-05-20T09:30:00Z",
       "attachments": [{"kind": "image", "url": "https://example.com/p.jpg"}]},
      {"type": "post", "id": "p-1", "text": "New arrivals", "url": "https://example.com/p-1", "at": "…"},
      {"type": "comment", "id": "c-1", "post_id": "p-1", "parent_id": null, "from": {"id": "u-42"},
       "text": "Love it", "at": "…"},
      {"type": "follow", "id": "f-1", "from": {"id": "u-42"}, "following": true, "at": "…"}
    ]}

`id` is the source's own id of the event, unique within the channel: sending an event again stores nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from scrm.connectors.items import (
    Attachment,
    AttachmentKind,
    Inbound,
    InboundComment,
    InboundFollow,
    InboundMessage,
    InboundPost,
    Sender,
)

PLATFORM = "api"
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
MAX_EVENTS = 500


class Person(msgspec.Struct, forbid_unknown_fields=True):
    """Who wrote or followed: the source's user id, and what it knows of them."""

    id: Id
    name: str = ""
    username: str = ""
    avatar_url: str = ""
    language: str = ""


class Media(msgspec.Struct, forbid_unknown_fields=True):
    """A file, picture or place that came with a message or post."""

    kind: AttachmentKind
    url: str = ""
    mime_type: str = ""
    title: str = ""


class MessageEvent(msgspec.Struct, tag="message", forbid_unknown_fields=True):
    """A private message in a conversation (thread) of the source."""

    id: Id
    conversation_id: Id
    sender: Person = msgspec.field(name="from")
    at: datetime
    text: Text = ""
    attachments: list[Media] = msgspec.field(default_factory=list)


class PostEvent(msgspec.Struct, tag="post", forbid_unknown_fields=True):
    """A public post."""

    id: Id
    at: datetime
    text: Text = ""
    url: str = ""
    author: Person | None = None


class CommentEvent(msgspec.Struct, tag="comment", forbid_unknown_fields=True):
    """A public comment under a post, or a reply to another comment (`parent_id`)."""

    id: Id
    post_id: Id
    sender: Person = msgspec.field(name="from")
    at: datetime
    text: Text = ""
    parent_id: str | None = None


class FollowEvent(msgspec.Struct, tag="follow", forbid_unknown_fields=True):
    """Someone followed (`following: true`) or unfollowed."""

    id: Id
    sender: Person = msgspec.field(name="from")
    at: datetime
    following: bool = True
    source: str = ""


Event = MessageEvent | PostEvent | CommentEvent | FollowEvent


class InboundBatch(msgspec.Struct, forbid_unknown_fields=True):
    """The body of `POST /api/v1/channels/{id}/inbound`."""

    events: Annotated[list[Event], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]


def decode_batch(body: bytes) -> InboundBatch:
    """The batch in a body; msgspec.ValidationError / DecodeError name what is wrong and where."""
    return msgspec.json.decode(body, type=InboundBatch)


def parse_batch(body: bytes) -> list[Inbound]:
    """The items of a stored batch, in order."""
    return [_item(event) for event in decode_batch(body).events]


def _item(event: Event) -> Inbound:
    if isinstance(event, MessageEvent):
        return InboundMessage(PLATFORM, event.id, event.conversation_id, _sender(event.sender), event.at,
                              event.text, tuple(_attachment(m) for m in event.attachments))  # fmt: skip
    if isinstance(event, PostEvent):
        author = _sender(event.author) if event.author else Sender("")
        return InboundPost(PLATFORM, event.id, author, event.at, event.text, event.url)
    if isinstance(event, CommentEvent):
        return InboundComment(PLATFORM, event.id, event.post_id, _sender(event.sender), event.at, event.text,
                              event.parent_id or "")  # fmt: skip
    return InboundFollow(PLATFORM, event.id, _sender(event.sender), event.at, event.following, event.source)


def _sender(person: Person) -> Sender:
    return Sender(person.id, person.name, person.username, person.avatar_url, person.language)


def _attachment(media: Media) -> Attachment:
    return Attachment(kind=media.kind, url=media.url, mime_type=media.mime_type, title=media.title)

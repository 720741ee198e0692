"""The stored shape of each inbound item: the document `ingest` inserts, its `_id` chosen up front."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document, PydanticObjectId
from bson import ObjectId

from scrm.connectors.items import Attachment as InboundAttachment
from scrm.connectors.items import InboundComment, InboundFollow, InboundMessage, InboundPost
from scrm.events import Where
from scrm.models import Attachment, Comment, Direction, Follow, FollowKind, Message, Post


def message_document(
    item: InboundMessage,
    where: Where,
    contact_id: PydanticObjectId,
    conversation_id: PydanticObjectId,
    now: datetime,
) -> dict[str, Any]:
    """An inbound message in its conversation."""
    message = Message(
        workspace_id=where.workspace_id,
        channel_id=where.channel_id,
        conversation_id=conversation_id,
        contact_id=contact_id,
        platform=where.platform,
        external_id=item.external_id,
        direction=Direction.INBOUND,
        text=item.text,
        attachments=[attachment(a) for a in item.attachments],
        sent_at=item.at,
        edited_at=item.edited_at,
        created_at=now,
    )
    return _raw(message)


def comment_document(
    item: InboundComment,
    where: Where,
    contact_id: PydanticObjectId | None,
    post_id: PydanticObjectId | None,
    now: datetime,
) -> dict[str, Any]:
    """A comment under a post (linked to the post when we have it), by the contact when the platform names them."""
    comment = Comment(
        workspace_id=where.workspace_id,
        channel_id=where.channel_id,
        platform=where.platform,
        external_id=item.external_id,
        post_external_id=item.post_id,
        post_id=post_id,
        parent_external_id=item.parent_id or None,
        contact_id=contact_id,
        text=item.text,
        created_time=item.at,
        created_at=now,
    )
    return _raw(comment)


def post_document(
    item: InboundPost, where: Where, author_contact_id: PydanticObjectId | None, now: datetime
) -> dict[str, Any]:
    """A post on one of our channels, or by someone mentioning us (then linked to their contact)."""
    post = Post(
        workspace_id=where.workspace_id,
        channel_id=where.channel_id,
        platform=where.platform,
        external_id=item.external_id,
        author_contact_id=author_contact_id,
        text=item.text,
        url=item.url,
        attachments=[attachment(a) for a in item.attachments],
        published_at=item.at,
        created_at=now,
    )
    return _raw(post)


def follow_document(
    item: InboundFollow, where: Where, contact_id: PydanticObjectId | None, now: datetime
) -> dict[str, Any] | None:
    """A follow or unfollow; None when the platform does not say who it was."""
    if contact_id is None:
        return None
    follow = Follow(
        workspace_id=where.workspace_id,
        channel_id=where.channel_id,
        contact_id=contact_id,
        platform=where.platform,
        external_id=item.external_id,
        kind=FollowKind.FOLLOW if item.following else FollowKind.UNFOLLOW,
        at=item.at,
        source=item.source,
        created_at=now,
    )
    return _raw(follow)


def attachment(inbound: InboundAttachment) -> Attachment:
    """An attachment as stored with its message or post."""
    data = dict(inbound.data)
    if inbound.title:
        data["title"] = inbound.title
    return Attachment(
        kind=inbound.kind.value, url=inbound.url, external_id=inbound.media_id, mime_type=inbound.mime_type, data=data
    )


def _raw(document: Document) -> dict[str, Any]:
    raw: dict[str, Any] = document.model_dump(by_alias=True, exclude={"id"})
    raw["_id"] = ObjectId()
    return raw

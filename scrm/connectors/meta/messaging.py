"""Messenger and Instagram Direct: webhook ``entry[].messaging[]`` events and pulled conversation messages.

Both products deliver the same event shape (``sender``, ``recipient``, ``timestamp`` in epoch milliseconds and
one of ``message``, ``postback``, ``delivery``, ``read``, ``reaction``), and the Graph API lists both through
``/{page-id}/conversations``; only the id space differs (see ``ids``). Field names follow the Messenger
Platform webhook event reference (meta.md a; samples ``meta_messenger_message_deliveries_item.json`` and
``meta_messenger_message_reads_item.json``; ``message_reactions`` on developers.facebook.com/docs/
messenger-platform/reference/webhook-events/message-reactions).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scrm.connectors.items import (
    Attachment,
    AttachmentKind,
    DeliveryState,
    Inbound,
    InboundEvent,
    InboundMessage,
    InboundStatus,
    Sender,
)
from scrm.connectors.meta.ids import Space, scoped
from scrm.connectors.meta.timestamps import from_iso, from_millis

PLATFORM = "meta"
# Messenger attachment ``type`` values (Send/Receive API attachment reference); anything else is kept as a link.
ATTACHMENT_KINDS = {
    "image": AttachmentKind.IMAGE,
    "audio": AttachmentKind.AUDIO,
    "video": AttachmentKind.VIDEO,
    "file": AttachmentKind.FILE,
    "location": AttachmentKind.LOCATION,
}


def parse_messaging_event(event: Mapping[str, Any], space: Space) -> list[Inbound]:
    """Turn one ``messaging[]`` event into items; echoes of our own sends and unknown kinds give none."""
    if "message" in event:
        message = event["message"]
        # is_echo: a message the Page sent (ours, recorded by the outbox); is_deleted: an Instagram unsend
        return [] if message.get("is_echo") or message.get("is_deleted") else [_message(event, space)]
    if "message_edit" in event:
        return [_edit(event, space)]
    if "postback" in event:
        return [_postback(event, space)]
    if "delivery" in event:
        return _deliveries(event, space)
    if "read" in event:
        return [_read(event, space)]
    if "reaction" in event:
        return [_reaction(event, space)]
    return []


def person(space: Space, user_id: str | int, name: str = "", username: str = "") -> Sender:
    """Return the profile of a person in one product's id space (PSID, IGSID or wa_id)."""
    return Sender(platform_user_id=scoped(space, user_id), display_name=name or username, username=username)


def message_from_graph(raw: Mapping[str, Any], space: Space, own_id: str) -> InboundMessage | None:
    """Turn a pulled conversation message into an item; None for the account's own messages.

    Graph ``/{conversation-id}/messages`` gives ``id`` (the same ``m_...`` id webhooks call ``mid``),
    ``created_time``, ``from`` and ``message`` (meta.md d).
    """
    author = raw.get("from") or {}
    if not author.get("id") or str(author["id"]) == own_id:
        return None
    return InboundMessage(
        platform=PLATFORM,
        external_id=scoped(space, raw["id"]),
        conversation_id=scoped(space, author["id"]),
        sender=person(space, author["id"], author.get("name", ""), author.get("username", "")),
        at=from_iso(raw["created_time"]),
        text=raw.get("message", ""),
        attachments=_graph_attachments(raw),
        raw=raw,
    )


def _message(event: Mapping[str, Any], space: Space) -> InboundMessage:
    message, user = event["message"], event["sender"]["id"]
    reply_to = (message.get("reply_to") or {}).get("mid")
    return InboundMessage(
        platform=PLATFORM,
        external_id=scoped(space, message["mid"]),
        conversation_id=scoped(space, user),
        sender=person(space, user),
        at=from_millis(event["timestamp"]),
        text=message.get("text", ""),
        attachments=tuple(_attachment(a) for a in message.get("attachments", [])),
        reply_to_id=scoped(space, reply_to) if reply_to else "",
        raw=event,
    )


def _edit(event: Mapping[str, Any], space: Space) -> InboundMessage:
    """A ``message_edits`` event: the message keeps its ``mid`` and gets the new text."""
    edit, user, at = event["message_edit"], event["sender"]["id"], from_millis(event["timestamp"])
    return InboundMessage(
        platform=PLATFORM,
        external_id=scoped(space, edit["mid"]),
        conversation_id=scoped(space, user),
        sender=person(space, user),
        at=at,
        text=edit.get("text", ""),
        edited_at=at,
        raw=event,
    )


def _postback(event: Mapping[str, Any], space: Space) -> InboundEvent:
    """A button, Get Started or persistent-menu tap; ``key`` is the button's ``payload``."""
    postback, user = event["postback"], event["sender"]["id"]
    event_key = postback.get("mid") or f"{user}:postback:{event['timestamp']}"
    return InboundEvent(
        PLATFORM,
        scoped(space, event_key),
        person(space, user),
        from_millis(event["timestamp"]),
        kind="postback",
        key=postback.get("payload", ""),
        conversation_id=scoped(space, user),
        raw=event,
    )


def _deliveries(event: Mapping[str, Any], space: Space) -> list[Inbound]:
    """One status per delivered ``mid``, or one watermark status when Meta lists no ids.

    meta.md a (message_deliveries sample): ``delivery.mids`` and ``delivery.watermark`` (epoch ms; every
    message sent before it was delivered). The sample has no ``timestamp``, so the watermark dates the report.
    """
    delivery, user = event["delivery"], event["sender"]["id"]
    watermark = from_millis(delivery["watermark"])
    at = from_millis(event["timestamp"]) if "timestamp" in event else watermark
    mids = delivery.get("mids") or [""]
    return [
        _status(event, space, DeliveryState.DELIVERED, mid or f"{user}:{delivery['watermark']}", mid, at, watermark)
        for mid in mids
    ]


def _read(event: Mapping[str, Any], space: Space) -> InboundStatus:
    """Messenger reports a ``watermark`` (meta.md a, message_reads sample); Instagram names the ``mid`` read."""
    read, user = event["read"], event["sender"]["id"]
    watermark = from_millis(read["watermark"]) if "watermark" in read else None
    mid = read.get("mid", "")
    position = mid or f"{user}:{read.get('watermark', event['timestamp'])}"
    return _status(event, space, DeliveryState.READ, position, mid, from_millis(event["timestamp"]), watermark)


def _status(
    event: Mapping[str, Any],
    space: Space,
    state: DeliveryState,
    position: str,
    mid: str,
    at: datetime,
    watermark: datetime | None,
) -> InboundStatus:
    user = event["sender"]["id"]
    return InboundStatus(
        PLATFORM,
        scoped(space, f"{position}:{state}"),
        person(space, user),
        at,
        kind=state,
        key=scoped(space, mid) if mid else "",
        conversation_id=scoped(space, user),
        raw=event,
        watermark=watermark,
    )


def _reaction(event: Mapping[str, Any], space: Space) -> InboundEvent:
    """A reaction to a message: ``action`` is ``react`` or ``unreact``; ``key`` the reaction's name."""
    reaction, user = event["reaction"], event["sender"]["id"]
    removed = reaction.get("action") == "unreact"
    return InboundEvent(
        PLATFORM,
        scoped(space, f"{reaction.get('mid', '')}:{user}:{reaction.get('action', 'react')}:{event['timestamp']}"),
        person(space, user),
        from_millis(event["timestamp"]),
        kind="reaction_removed" if removed else "reaction",
        key=reaction.get("reaction") or reaction.get("emoji", ""),
        conversation_id=scoped(space, user),
        raw=event,
    )


def _attachment(attachment: Mapping[str, Any]) -> Attachment:
    payload = attachment.get("payload") or {}
    kind = ATTACHMENT_KINDS.get(attachment.get("type", ""), AttachmentKind.LINK)
    if "sticker_id" in payload:
        kind = AttachmentKind.STICKER
    data = dict(payload.get("coordinates") or {})
    return Attachment(kind, url=payload.get("url", ""), title=payload.get("title", ""), data=data)


def _graph_attachments(raw: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """Graph message attachments: ``image_data.url``, ``video_data.url`` or ``file_url``."""
    found: list[Attachment] = []
    for item in (raw.get("attachments") or {}).get("data", []):
        mime_type, title = item.get("mime_type", ""), item.get("name", "")
        if "image_data" in item:
            found.append(Attachment(AttachmentKind.IMAGE, url=item["image_data"].get("url", ""), mime_type=mime_type))
        elif "video_data" in item:
            found.append(Attachment(AttachmentKind.VIDEO, url=item["video_data"].get("url", ""), mime_type=mime_type))
        elif "file_url" in item:
            found.append(Attachment(AttachmentKind.FILE, url=item["file_url"], mime_type=mime_type, title=title))
    return tuple(found)

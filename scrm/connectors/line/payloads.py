"""LINE Messaging API webhook bodies and profiles turned into inbound items.

Field names follow the official OpenAPI description ``line/line-openapi`` ``webhook.yml`` (line.md a) and the
SDK fixture in ``platforms/samples/line_webhook_sdk_fixture.json``. Times are epoch milliseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from scrm.connectors.items import (
    Attachment,
    AttachmentKind,
    Inbound,
    InboundEvent,
    InboundFollow,
    InboundMessage,
    Sender,
)

PLATFORM = "line"
# The reference: a reply token "must be used within one minute" of receiving the webhook, later use is not
# guaranteed, and it can be used only once (developers.line.biz/ja/reference/messaging-api/#send-reply-message:
# "応答トークンは、Webhookを受信してから1分以内に使用する必要があります。1分を超える場合の使用については、動作は
# 保証されません", "応答トークンは1回のみ使用できます", seen quoted). Counted from the event's own timestamp, which
# is no later than its arrival, so a redelivered event's token counts as the stale one it is.
REPLY_TOKEN_TTL = timedelta(minutes=1)
MEDIA_KINDS = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "file": AttachmentKind.FILE,
}
MEMBERSHIP_EVENTS = {"join", "leave", "memberJoined", "memberLeft"}


class PayloadError(ValueError):
    """A webhook body is not the JSON LINE sends."""


def parse_body(body: bytes) -> list[Inbound]:
    """Turn one webhook body (``{"destination", "events": [...]}``) into items, skipping kinds we do not ingest.

    An empty ``events`` array is LINE checking that the URL answers (line.md a) and gives no items.
    """
    return [item for event in _events(body) if (item := parse_event(event)) is not None]


def event_id(body: bytes) -> str:
    """Return the ingress dedupe id of one webhook body.

    Each event carries ``webhookEventId``, "an ID that uniquely identifies a webhook event" (ULID, line.md a),
    and redeliveries keep it. A body with one event is known by that id; a body with several by the SHA-256 of
    their ids, so the same events give the same id whatever the JSON spacing. A body whose events lack ids
    (the empty connectivity check, say) is known by the SHA-256 of its raw bytes.
    """
    try:
        ids = [str(event["webhookEventId"]) for event in _events(body)]
    except (PayloadError, KeyError, TypeError):
        ids = []
    if len(ids) == 1:
        return ids[0]
    if ids:
        return "sha256:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def is_redelivery(event: Mapping[str, Any]) -> bool:
    """Tell whether LINE sent this event again (``deliveryContext.isRedelivery``, line.md a)."""
    return bool((event.get("deliveryContext") or {}).get("isRedelivery"))


def reply_window(event: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """Return an event's reply token and when it stops working, or None for events that carry none.

    Unfollow, leave and memberLeft events carry no ``replyToken`` (webhook.yml).
    """
    token = event.get("replyToken")
    if not token:
        return None
    return str(token), _time(event["timestamp"]) + REPLY_TOKEN_TTL


def parse_event(event: Mapping[str, Any]) -> Inbound | None:
    """Turn one webhook event into an item, or None for kinds we do not ingest (beacon, unsend...)."""
    kind = event.get("type")
    if kind in {"message", "messageEdited"}:
        return _message(event, edited=kind == "messageEdited")
    if kind in {"follow", "unfollow"}:
        sender, at = _sender(event), _time(event["timestamp"])
        external_id = str(event.get("webhookEventId") or f"{sender.platform_user_id}:{kind}:{event['timestamp']}")
        return InboundFollow(PLATFORM, external_id, sender, at, following=kind == "follow", raw=event)
    if kind == "postback":
        return _event(event, "postback", str((event.get("postback") or {}).get("data", "")))
    if kind in MEMBERSHIP_EVENTS:
        return _event(event, "chat_member", kind)
    return None


def sender_from_profile(profile: Mapping[str, Any]) -> Sender:
    """Turn ``GET /v2/bot/profile/{userId}`` (displayName, pictureUrl, language) into a sender profile."""
    return Sender(
        platform_user_id=str(profile["userId"]),
        display_name=profile.get("displayName", ""),
        avatar_url=profile.get("pictureUrl", ""),
        language=profile.get("language", ""),
    )


def conversation_of(event: Mapping[str, Any]) -> str:
    """Return the chat an event happened in: the group, the multi-person room, or the user's own chat."""
    source = event.get("source") or {}
    return str(source.get("groupId") or source.get("roomId") or source.get("userId") or "")


def _events(body: bytes) -> list[Mapping[str, Any]]:
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    events = parsed.get("events") if isinstance(parsed, dict) else None
    if not isinstance(events, list):
        raise PayloadError("no events array")
    return [event for event in events if isinstance(event, Mapping)]


def _message(event: Mapping[str, Any], *, edited: bool) -> InboundMessage:
    """A message or its edit; the message id is LINE's own and is unique, so an edit keeps it."""
    message, at = event["message"], _time(event["timestamp"])
    return InboundMessage(
        platform=PLATFORM,
        external_id=str(message["id"]),
        conversation_id=conversation_of(event),
        sender=_sender(event),
        at=at,
        text=message.get("text", "") if message.get("type") == "text" else "",
        attachments=_attachments(message),
        edited_at=at if edited else None,
        raw=event,
        reply_token="" if edited else str(event.get("replyToken") or ""),
    )


def _event(event: Mapping[str, Any], kind: str, key: str) -> InboundEvent:
    sender, at = _sender(event), _time(event["timestamp"])
    external_id = str(event.get("webhookEventId") or f"{sender.platform_user_id}:{kind}:{event['timestamp']}")
    return InboundEvent(
        PLATFORM, external_id, sender, at, kind=kind, key=key, conversation_id=conversation_of(event), raw=event
    )


def _sender(event: Mapping[str, Any]) -> Sender:
    """The user behind an event; a group event without ``userId`` (bot joined, say) is the group's own."""
    source = event.get("source") or {}
    return Sender(platform_user_id=str(source.get("userId") or conversation_of(event)))


def _attachments(message: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """Media are downloaded later by message id (``GET api-data.line.me/v2/bot/message/{id}/content``, line.md d)."""
    kind = message.get("type", "")
    if kind in MEDIA_KINDS:
        provider = message.get("contentProvider") or {}
        return (
            Attachment(
                MEDIA_KINDS[kind],
                media_id=str(message["id"]),
                url=provider.get("originalContentUrl", ""),
                title=message.get("fileName", ""),
            ),
        )
    if kind == "sticker":
        data = {key: message[key] for key in ("packageId", "stickerResourceType", "keywords") if key in message}
        return (Attachment(AttachmentKind.STICKER, media_id=str(message["stickerId"]), data=data),)
    if kind == "location":
        data = {"latitude": message["latitude"], "longitude": message["longitude"], "address": message.get("address")}
        return (Attachment(AttachmentKind.LOCATION, title=message.get("title", ""), data=data),)
    return ()


def _time(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)

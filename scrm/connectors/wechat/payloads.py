"""WeChat Official Account pushes (XML) and follower profiles turned into inbound items.

Message and event fields follow the Official Account "receive messages / events" reference (wechat.md a).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
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

PLATFORM = "wechat"
SCENE_PREFIX = "qrscene_"  # EventKey of a subscribe that came through a parametric QR code
MENU_EVENTS = {"CLICK": "menu_click", "VIEW": "menu_view"}
MESSAGE_TYPES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})


class PayloadError(ValueError):
    """A push body is not the XML WeChat sends."""


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Return the top-level fields of a WeChat XML body as text.

    A document type declaration is refused: WeChat never sends one, and refusing it rules out entity
    expansion attacks (what defusedxml's ``forbid_dtd`` does) without a further dependency.
    """
    text = body.decode() if isinstance(body, bytes) else body
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise PayloadError("XML with a document type declaration is refused")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD, so no entities to expand
    except ET.ParseError as exc:
        raise PayloadError(f"not XML: {exc}") from exc
    return {child.tag: (child.text or "").strip() for child in root}


def event_id(fields: Mapping[str, str]) -> str:
    """Return the delivery's event id: ``MsgId`` for messages, ``FromUserName:CreateTime:Event`` for events.

    wechat.md a: WeChat retries three times within 5 s and says to dedupe messages by ``MsgId`` and events
    by ``FromUserName + CreateTime``. We add the event name because one action can raise two different
    events in the same second (a scan that subscribes, then the menu's view), which the pair alone would merge.
    """
    if fields.get("MsgId"):
        return fields["MsgId"]
    return f"{fields['FromUserName']}:{fields['CreateTime']}:{fields.get('Event', '')}"


def parse_message(fields: Mapping[str, str]) -> Inbound | None:
    """Turn one push (message or event) into an item, or None for a kind we do not ingest."""
    if fields.get("MsgType") == "event":
        return _event(fields)
    if fields.get("MsgType") not in MESSAGE_TYPES:
        return None
    text = fields.get("Content") or fields.get("Recognition") or fields.get("Description") or ""
    return InboundMessage(
        platform=PLATFORM,
        external_id=event_id(fields),
        conversation_id=fields["FromUserName"],
        sender=Sender(platform_user_id=fields["FromUserName"]),
        at=_time(fields["CreateTime"]),
        text=text,
        attachments=_attachments(fields),
        raw=dict(fields),
    )


def follow_from_user_info(info: Mapping[str, Any]) -> InboundFollow:
    """Turn a ``user/info`` profile of a current follower into a follow item.

    Its id matches the webhook's subscribe event (``openid:subscribe_time:subscribe``, see ``event_id``),
    so a follow seen both ways is stored once.
    """
    openid, since = info["openid"], int(info["subscribe_time"])
    sender = Sender(
        platform_user_id=openid,
        display_name=info.get("nickname", ""),
        avatar_url=info.get("headimgurl", ""),
        language=info.get("language", ""),
    )
    scene = str(info.get("qr_scene_str") or info.get("qr_scene") or "")
    return InboundFollow(
        PLATFORM, f"{openid}:{since}:subscribe", sender, _time(str(since)), source=scene, raw=dict(info)
    )


def _event(fields: Mapping[str, str]) -> Inbound:
    name, key = fields.get("Event", ""), fields.get("EventKey", "")
    sender, at = Sender(platform_user_id=fields["FromUserName"]), _time(fields["CreateTime"])
    external_id, raw = event_id(fields), dict(fields)
    if name in {"subscribe", "unsubscribe"}:
        scene = key.removeprefix(SCENE_PREFIX) if key.startswith(SCENE_PREFIX) else ""
        following = name == "subscribe"
        return InboundFollow(PLATFORM, external_id, sender, at, following=following, source=scene, raw=raw)
    kind = "scan" if name == "SCAN" else MENU_EVENTS.get(name, name.lower())
    return InboundEvent(
        PLATFORM, external_id, sender, at, kind=kind, key=key, conversation_id=sender.platform_user_id, raw=raw
    )


def _attachments(fields: Mapping[str, str]) -> tuple[Attachment, ...]:
    kind = fields.get("MsgType", "")
    media_id = fields.get("MediaId", "")
    if kind == "image":
        return (Attachment(AttachmentKind.IMAGE, media_id=media_id, url=fields.get("PicUrl", "")),)
    if kind == "voice":
        audio_format = fields.get("Format", "").lower()  # amr or speex
        mime_type = f"audio/{audio_format}" if audio_format else ""
        return (Attachment(AttachmentKind.AUDIO, media_id=media_id, mime_type=mime_type),)
    if kind in {"video", "shortvideo"}:
        return (
            Attachment(
                AttachmentKind.VIDEO, media_id=media_id, data={"thumb_media_id": fields.get("ThumbMediaId", "")}
            ),
        )
    if kind == "location":
        data = {
            "latitude": float(fields["Location_X"]),
            "longitude": float(fields["Location_Y"]),
            "scale": fields.get("Scale", ""),
        }
        return (Attachment(AttachmentKind.LOCATION, title=fields.get("Label", ""), data=data),)
    if kind == "link":
        return (Attachment(AttachmentKind.LINK, url=fields.get("Url", ""), title=fields.get("Title", "")),)
    return ()


def _time(epoch: str) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)

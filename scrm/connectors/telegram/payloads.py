"""Telegram Bot API ``Update`` objects turned into inbound items.

The same function serves webhook bodies (one Update each) and ``getUpdates`` results (a list of Updates).
Field names follow the Bot API object reference (telegram.md; Update, Message, ChatMemberUpdated).
"""

from __future__ import annotations

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
    InboundPost,
    Sender,
)

PLATFORM = "telegram"
MEDIA_FIELDS = {
    "sticker": AttachmentKind.STICKER,
    "voice": AttachmentKind.AUDIO,
    "audio": AttachmentKind.AUDIO,
    "video": AttachmentKind.VIDEO,
    "video_note": AttachmentKind.VIDEO,
    "animation": AttachmentKind.VIDEO,
    "document": AttachmentKind.FILE,
}
FOLLOWING_STATUSES = {"member", "administrator", "creator"}


def event_id(update: Mapping[str, Any]) -> str:
    """Return the delivery's event id: the Update's ``update_id`` (telegram.md a: "Dedupe on update_id")."""
    return str(update["update_id"])


def parse_update(update: Mapping[str, Any]) -> Inbound | None:
    """Turn one Update into an item, or None for kinds we do not ingest (callback queries, polls...)."""
    if "message" in update:
        return parse_message(update["message"])
    if "edited_message" in update:
        return parse_message(update["edited_message"])
    if "channel_post" in update:
        return _post(update["channel_post"])
    if "my_chat_member" in update:
        return _membership(update["my_chat_member"])
    return None


def parse_message(message: Mapping[str, Any]) -> InboundMessage:
    """Turn a Message into an item; an edited message keeps its id and carries ``edited_at``."""
    chat_id = str(message["chat"]["id"])
    reply = message.get("reply_to_message") or {}
    return InboundMessage(
        platform=PLATFORM,
        external_id=message_external_id(chat_id, message["message_id"]),
        conversation_id=chat_id,
        sender=_sender(message),
        at=_time(message["date"]),
        text=message.get("text") or message.get("caption") or "",
        attachments=_attachments(message),
        reply_to_id=message_external_id(chat_id, reply["message_id"]) if reply else "",
        edited_at=_time(message["edit_date"]) if "edit_date" in message else None,
        raw=message,
    )


def message_external_id(chat_id: str | int, message_id: str | int) -> str:
    """Return a message's platform-wide id: message ids are unique only within their chat."""
    return f"{chat_id}:{message_id}"


def user_sender(user: Mapping[str, Any]) -> Sender:
    """Turn a Bot API User into a sender profile (the Bot API gives no avatar URL without a further call)."""
    name = " ".join(part for part in (user.get("first_name"), user.get("last_name")) if part)
    return Sender(
        platform_user_id=str(user["id"]),
        display_name=name,
        username=user.get("username", ""),
        language=user.get("language_code", ""),
    )


def _sender(message: Mapping[str, Any]) -> Sender:
    if "from" in message:
        return user_sender(message["from"])
    chat = message.get("sender_chat") or message["chat"]  # channel posts have no "from"
    return Sender(
        platform_user_id=str(chat["id"]), display_name=chat.get("title", ""), username=chat.get("username", "")
    )


def _post(message: Mapping[str, Any]) -> InboundPost:
    chat = message["chat"]
    link = f"https://t.me/{chat['username']}/{message['message_id']}" if chat.get("username") else ""
    return InboundPost(
        platform=PLATFORM,
        external_id=message_external_id(chat["id"], message["message_id"]),
        author=_sender(message),
        at=_time(message["date"]),
        text=message.get("text") or message.get("caption") or "",
        url=link,
        attachments=_attachments(message),
        raw=message,
    )


def _membership(update: Mapping[str, Any]) -> InboundFollow | InboundEvent:
    """A private chat's member update is a (un)follow: "kicked" means the user blocked the bot."""
    chat, status = update["chat"], update["new_chat_member"]["status"]
    sender, at = user_sender(update["from"]), _time(update["date"])
    if chat.get("type") == "private":
        following = status in FOLLOWING_STATUSES
        external_id = f"{chat['id']}:{'follow' if following else 'unfollow'}:{update['date']}"
        return InboundFollow(PLATFORM, external_id, sender, at, following=following, raw=update)
    external_id = f"{chat['id']}:member:{status}:{update['date']}"
    return InboundEvent(
        PLATFORM, external_id, sender, at, kind="chat_member", key=status, conversation_id=str(chat["id"]), raw=update
    )


def _attachments(message: Mapping[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.get("photo"):
        largest = message["photo"][-1]  # PhotoSize array, smallest first
        found.append(Attachment(AttachmentKind.IMAGE, media_id=largest["file_id"]))
    for name, kind in MEDIA_FIELDS.items():
        if name in message:
            media = message[name]
            title = media.get("emoji") or media.get("file_name") or ""
            found.append(Attachment(kind, media_id=media["file_id"], mime_type=media.get("mime_type", ""), title=title))
    if "location" in message:
        place = message["location"]
        data = {"latitude": place["latitude"], "longitude": place["longitude"]}
        found.append(Attachment(AttachmentKind.LOCATION, data=data))
    if "contact" in message:
        card = message["contact"]
        name = " ".join(part for part in (card.get("first_name"), card.get("last_name")) if part)
        found.append(Attachment(AttachmentKind.CONTACT, title=name, data=dict(card)))
    return tuple(found)


def _time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)

"""WhatsApp Cloud API webhooks: ``changes[].value`` with ``contacts``, ``messages`` and ``statuses``.

Field names follow the ``messages`` webhook reference: ``metadata.phone_number_id``, ``contacts[].profile.name``
and ``wa_id``, ``messages[].{from,id,timestamp,type,text.body,context}`` (meta.md a, the documented text
example) and the status reference (``statuses[].{id,status,timestamp,recipient_id,errors}``; statuses sent,
delivered, read, failed — developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/
reference/messages/status) [doc-excerpt]. Media fields (``image.id``, ``mime_type``, ``caption``) follow the
same reference [unverified: not in the retrieved excerpt].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrm.connectors.items import (
    Attachment,
    AttachmentKind,
    DeliveryState,
    Inbound,
    InboundEvent,
    InboundMessage,
    InboundStatus,
)
from scrm.connectors.meta.ids import Space, scoped
from scrm.connectors.meta.messaging import PLATFORM, person
from scrm.connectors.meta.timestamps import from_seconds

MEDIA_KINDS = {
    "image": AttachmentKind.IMAGE,
    "audio": AttachmentKind.AUDIO,
    "video": AttachmentKind.VIDEO,
    "document": AttachmentKind.FILE,
    "sticker": AttachmentKind.STICKER,
}
STATES = {state.value: state for state in DeliveryState}


def parse_whatsapp_value(value: Mapping[str, Any]) -> list[Inbound]:
    """Turn one ``messages`` change value into items: messages, button replies, reactions and statuses."""
    names = {c["wa_id"]: (c.get("profile") or {}).get("name", "") for c in value.get("contacts", []) if "wa_id" in c}
    items: list[Inbound] = []
    for message in value.get("messages", []):
        item = _message(message, names.get(message["from"], ""))
        if item is not None:
            items.append(item)
    items.extend(status for raw in value.get("statuses", []) if (status := _status(raw)) is not None)
    return items


def _message(message: Mapping[str, Any], name: str) -> Inbound | None:
    kind, user = message.get("type", ""), message["from"]
    sender, at = person(Space.WHATSAPP, user, name), from_seconds(message["timestamp"])
    common: dict[str, Any] = {
        "sender": sender,
        "at": at,
        "conversation_id": scoped(Space.WHATSAPP, user),
        "raw": message,
    }
    if kind in {"button", "interactive", "reaction"}:
        return _event(message, kind, common)
    if kind != "text" and kind not in MEDIA_KINDS and kind not in {"location", "contacts"}:
        return None  # unsupported, system and order messages are not ingested
    context = (message.get("context") or {}).get("id")
    media = message.get(kind) if kind in MEDIA_KINDS else {}
    return InboundMessage(
        platform=PLATFORM,
        external_id=scoped(Space.WHATSAPP, message["id"]),
        text=(message.get("text") or {}).get("body", "") or (media or {}).get("caption", ""),
        attachments=_attachments(message, kind),
        reply_to_id=scoped(Space.WHATSAPP, context) if context else "",
        **common,
    )


def _event(message: Mapping[str, Any], kind: str, common: Mapping[str, Any]) -> InboundEvent:
    """A tapped quick-reply or interactive button (``postback``, key = its payload or id) or a reaction."""
    external_id = scoped(Space.WHATSAPP, message["id"])
    if kind == "reaction":
        reaction = message["reaction"]
        emoji = reaction.get("emoji", "")  # an empty emoji removes the reaction
        return InboundEvent(
            PLATFORM, external_id, kind="reaction" if emoji else "reaction_removed", key=emoji, **common
        )
    if kind == "button":
        key = message["button"].get("payload") or message["button"].get("text", "")
    else:
        interactive = message["interactive"]
        key = (interactive.get("button_reply") or interactive.get("list_reply") or {}).get("id", "")
    return InboundEvent(PLATFORM, external_id, kind="postback", key=key, **common)


def _status(raw: Mapping[str, Any]) -> InboundStatus | None:
    """A delivery report; the id is unique per (message, state), as Meta sends each state once per message."""
    state = STATES.get(raw.get("status", ""))
    if state is None:
        return None  # e.g. "played" for voice messages, "deleted"
    errors = raw.get("errors") or [{}]
    recipient = raw["recipient_id"]
    return InboundStatus(
        PLATFORM,
        scoped(Space.WHATSAPP, f"{raw['id']}:{state}"),
        person(Space.WHATSAPP, recipient),
        from_seconds(raw["timestamp"]),
        kind=state,
        key=scoped(Space.WHATSAPP, raw["id"]),
        conversation_id=scoped(Space.WHATSAPP, recipient),
        raw=raw,
        error_code=str(errors[0].get("code", "")),
        error=errors[0].get("title") or errors[0].get("message", ""),
    )


def _attachments(message: Mapping[str, Any], kind: str) -> tuple[Attachment, ...]:
    if kind in MEDIA_KINDS:
        media = message[kind]
        title = media.get("filename") or media.get("caption", "")
        return (Attachment(MEDIA_KINDS[kind], media_id=media["id"], mime_type=media.get("mime_type", ""), title=title),)
    if kind == "location":
        place = message["location"]
        data = {"latitude": place["latitude"], "longitude": place["longitude"], "address": place.get("address", "")}
        return (Attachment(AttachmentKind.LOCATION, title=place.get("name", ""), data=data),)
    if kind == "contacts":
        return tuple(
            Attachment(AttachmentKind.CONTACT, title=(card.get("name") or {}).get("formatted_name", ""), data=card)
            for card in message["contacts"]
        )
    return ()

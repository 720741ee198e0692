"""What each kind of Meta reply becomes on the wire, the id it comes back with, and the messaging windows.

``Reply.to`` is an id the connector handed out (see ``ids``): a conversation (``facebook:<PSID>``,
``instagram:<IGSID>``, ``whatsapp:<wa_id>``) for a message or template, a comment (``facebook:<id>``,
``instagram:<id>``) for a public or private reply to it. Its space picks the product.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from scrm.connectors.base import Credentials, Reply, ReplyKind, Template
from scrm.connectors.errors import RequestRejected
from scrm.connectors.meta.ids import Space, scoped, split_scoped

# Messenger / Instagram standard window: "For most user actions, it lasts 24 hours" (policy page, meta.md c).
STANDARD_WINDOW = timedelta(hours=24)
# HUMAN_AGENT tag: a person may answer up to 7 days after the user's message [unverified: third-party docs only].
HUMAN_AGENT_WINDOW = timedelta(days=7)
# WhatsApp customer-service window; templates only outside it [unverified: third-party docs only, meta.md c].
WHATSAPP_WINDOW = timedelta(hours=24)
# Private replies: one message, "within 7 days from when the post or comment was created"
# (developers.facebook.com/documentation/business-messaging/messenger-platform/discovery/private-replies).
PRIVATE_REPLY_WINDOW = timedelta(days=7)
# Message tags a connector may put on Reply.tag: Messenger's set [unverified]; Instagram allows HUMAN_AGENT only
# [unverified: third-party docs].
MESSAGE_TAGS: Mapping[Space, frozenset[str]] = {
    Space.FACEBOOK: frozenset({"HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"}),
    Space.INSTAGRAM: frozenset({"HUMAN_AGENT"}),
}


@dataclass(frozen=True, slots=True)
class GraphRequest:
    """One Graph API POST: which product (and so which token), the path and the JSON body."""

    space: Space
    path: str
    body: Mapping[str, Any]


def messaging_window(reply: Reply) -> timedelta:
    """Return how long after the person's last message (or the comment) ``reply`` may still be sent.

    The window check itself belongs to the sender; this says which window applies. Templates have none.
    Raises ``ValueError`` for a ``to`` that names no Meta product space.
    """
    if reply.kind is ReplyKind.TEMPLATE:
        return timedelta.max
    if reply.kind is ReplyKind.PRIVATE_REPLY:
        return PRIVATE_REPLY_WINDOW
    if reply.kind is ReplyKind.COMMENT:
        return timedelta.max  # a public reply is not a message: no window [unverified]
    space, _ = split_scoped(reply.to)
    if space is Space.WHATSAPP:
        return WHATSAPP_WINDOW
    return HUMAN_AGENT_WINDOW if reply.tag == "HUMAN_AGENT" else STANDARD_WINDOW


def message_tags(platform: str, to: str) -> frozenset[str]:
    """The message tags a message to ``to`` (a conversation id) may carry: none outside Messenger and Instagram."""
    if platform != "meta":
        return frozenset()
    try:
        space, _ = split_scoped(to)
    except ValueError:
        return frozenset()
    return MESSAGE_TAGS.get(space, frozenset())


def build_request(reply: Reply, creds: Credentials) -> GraphRequest:
    """Return the request that sends ``reply``; raises ``RequestRejected`` for a reply Meta cannot take."""
    try:
        space, target = split_scoped(reply.to)
    except ValueError as exc:
        raise _refused(str(exc)) from exc
    if reply.kind is ReplyKind.COMMENT and space is not Space.WHATSAPP:
        return _comment_reply(space, target, reply.text)
    if reply.kind is ReplyKind.PRIVATE_REPLY and space is not Space.WHATSAPP:
        # recipient.comment_id: the private-replies page (Send API with a comment id instead of a PSID)
        return GraphRequest(
            space, "/me/messages", {"recipient": {"comment_id": target}, "message": {"text": reply.text}}
        )
    if reply.kind is ReplyKind.MESSAGE and space is Space.WHATSAPP:
        return GraphRequest(space, _whatsapp_path(creds), _whatsapp_text(target, reply))
    if reply.kind is ReplyKind.TEMPLATE and space is Space.WHATSAPP and reply.template is not None:
        return GraphRequest(space, _whatsapp_path(creds), _whatsapp_template(target, reply.template))
    if reply.kind is ReplyKind.MESSAGE:
        return GraphRequest(space, "/me/messages", _messenger_text(space, target, reply))
    raise _refused(f"Meta cannot send a {reply.kind} reply to {reply.to!r}")


def sent_id(space: Space, body: Mapping[str, Any]) -> str:
    """Return the id Meta gave what we sent, in its space.

    Send API answers ``{"recipient_id", "message_id"}`` [unverified]; comment replies ``{"id"}``; WhatsApp
    ``{"messages": [{"id": "wamid..."}]}`` (WhatsApp Node SDK, meta.md c).
    """
    if space is Space.WHATSAPP:
        return scoped(space, body["messages"][0]["id"])
    return scoped(space, body.get("message_id") or body["id"])


def _messenger_text(space: Space, recipient: str, reply: Reply) -> dict[str, Any]:
    """Send API body: ``recipient.id``, ``messaging_type`` and the text (Postman collection, meta.md c).

    ``RESPONSE`` answers a person inside the standard window; with ``reply.tag`` the message goes out as
    ``MESSAGE_TAG`` with that tag, outside the window [unverified: field names seen only in third-party docs].
    """
    body: dict[str, Any] = {
        "recipient": {"id": recipient},
        "messaging_type": "RESPONSE",
        "message": {"text": reply.text},
    }
    if reply.tag:
        if reply.tag not in MESSAGE_TAGS[space]:
            raise _refused(f"{space} does not allow the message tag {reply.tag!r}")
        body.update(messaging_type="MESSAGE_TAG", tag=reply.tag)
    return body


def _comment_reply(space: Space, comment_id: str, text: str) -> GraphRequest:
    """A public reply: Page ``POST /{comment-id}/comments`` with ``message`` [unverified, meta.md c];
    Instagram ``POST /<IG_COMMENT_ID>/replies`` (comment-moderation page, meta.md c)."""
    edge = "replies" if space is Space.INSTAGRAM else "comments"
    return GraphRequest(space, f"/{comment_id}/{edge}", {"message": text})


def _whatsapp_path(creds: Credentials) -> str:
    phone_number_id = creds.get("whatsapp_phone_number_id")
    if not phone_number_id:
        raise _refused("the channel has no whatsapp_phone_number_id")
    return f"/{phone_number_id}/messages"


def _whatsapp_text(to: str, reply: Reply) -> dict[str, Any]:
    """Text message as the WhatsApp Node SDK builds it, with ``context`` to quote a message (meta.md c)."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": reply.text, "preview_url": False},
    }
    if reply.reply_to_id:
        body["context"] = {"message_id": split_scoped(reply.reply_to_id)[1]}
    return body


def _whatsapp_template(to: str, template: Template) -> dict[str, Any]:
    """Template message: ``template.{name, language.code, components}``, body parameters as text
    [unverified: the template shape is recalled from the Cloud API reference, not a retrieved page]."""
    payload: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.parameters:
        parameters = [{"type": "text", "text": value} for value in template.parameters]
        payload["components"] = [{"type": "body", "parameters": parameters}]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": payload,
    }


def _refused(message: str) -> RequestRejected:
    """A reply refused before any call: sending it again unchanged fails the same way (status 0: not sent)."""
    return RequestRejected(message, status=0, code="unsendable")

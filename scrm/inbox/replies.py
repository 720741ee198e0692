"""Replying from the inbox: a reply is one outbox row, queued once per idempotency key, inside the platform's window.

The key comes from the client (the reply form carries a fresh token each time it is drawn; API callers send
their own), and the outbox's unique `dedupe_key` makes a second submission of the same key return the row
the first one queued: a double click or a retried request sends one message. The key is bound to the
conversation, so a key reused elsewhere can never reach another conversation's (or workspace's) row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm import messaging_windows
from scrm.auth.roles import Principal
from scrm.connectors.base import Reply, ReplyKind, Template
from scrm.connectors.meta.send import message_tags
from scrm.inbox.actions import get_conversation
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.sla import note_first_response
from scrm.inbox.waiting import stop_waiting
from scrm.models import Conversation, OutboundMessage, OutboundStatus
from scrm.outbox import Outgoing, Source, TemplateRef, enqueue, inbox_key

MAX_REPLY_LENGTH = 4096
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")


class ReplyRefused(Exception):
    """The platform would not take this reply now (its messaging window is closed); the message says why.

    `code` is stable for machines (`messaging_window_never_opened`, `messaging_window_expired`,
    `messaging_window_message_limit`: WeChat and WeCom allow 5 messages per window), `window` what
    the UI needs to say it in the reader's language.
    """

    def __init__(self, message: str, code: str = "messaging_window_closed", window: WindowState | None = None):
        super().__init__(message)
        self.code = code
        self.window = window


@dataclass(frozen=True, slots=True)
class WindowState:
    """The platform's messaging window of a conversation: how long it is, when it closes, whether it is open.

    `hours` is None on platforms without a window (Telegram, LINE, X); `closes_at` is None when the contact
    never wrote; `reason` says, in the delivery's words, why a reply cannot go out.
    """

    hours: int | None
    closes_at: datetime | None
    is_open: bool
    reason: str | None
    key: str = ""
    """The window's stable name (`wechat_48h`...), for UI text; "" without a window."""
    code: str | None = None
    """Why it is closed, as a stable code (None while open)."""
    hours_left: int | None = None
    """Whole hours until it closes, while open."""
    hours_since: int | None = None
    """Whole hours since the contact last wrote, once closed."""
    message_limit: int | None = None
    """How many messages the window allows (WeChat, WeCom: 5); None without a count."""
    messages_left: int | None = None
    """How many of them are left (`counted_window_state`); None without a count or when not counted."""


def window_state(conversation: Conversation, now: datetime, probe: Reply | None = None) -> WindowState:
    """Where a conversation stands in its platform's messaging window (the rules delivery enforces).

    `probe` is the reply to judge (a Messenger `HUMAN_AGENT` tag or a WhatsApp template has its own window);
    by default a plain message.
    """
    probe = probe or Reply(to=conversation.external_id, text="")
    window = messaging_windows.window_for(conversation.platform, probe)
    if window is None:
        return WindowState(None, None, True, None)
    last = conversation.last_inbound_at
    reason = messaging_windows.closed_reason(conversation.platform, probe, last, now)
    hours = int(window.length.total_seconds() // 3600)
    closes = last + window.length if last else None
    code = messaging_windows.closed_code(conversation.platform, probe, last, now)
    left = int((closes - now).total_seconds() // 3600) if closes and reason is None else None
    since = int((now - last).total_seconds() // 3600) if last and reason is not None else None
    return WindowState(hours, closes, reason is None, reason, window.key, code, left, since)


# Messages that count against the window: queued or in flight (they will go out in it), or sent since the contact
# last wrote. Queued rows count so that two agents replying at once cannot both queue the last allowed message.
PENDING = [OutboundStatus.QUEUED.value, OutboundStatus.SENDING.value]


def _window_sends(conversation: Conversation, *, exclude_key: str = "") -> dict[str, Any]:
    sent: dict[str, Any] = {"status": OutboundStatus.SENT.value}
    if conversation.last_inbound_at is not None:
        sent["sent_at"] = {"$gt": conversation.last_inbound_at}
    query: dict[str, Any] = {
        "channel_id": conversation.channel_id,
        "contact_id": conversation.contact_id,
        "$or": [{"status": {"$in": PENDING}}, sent],
    }
    if exclude_key:
        query["dedupe_key"] = {"$ne": exclude_key}
    return query


async def counted_window_state(conversation: Conversation, now: datetime, probe: Reply | None = None) -> WindowState:
    """`window_state` with the messages left in the window on platforms that count them (WeChat, WeCom: 5)."""
    state = window_state(conversation, now, probe)
    return await _with_count(conversation, state)


async def _with_count(conversation: Conversation, state: WindowState, exclude_key: str = "") -> WindowState:
    limit = messaging_windows.message_limit(conversation.platform)
    if limit is None or not state.is_open:
        return state
    query = _window_sends(conversation, exclude_key=exclude_key)
    sent = await OutboundMessage.get_pymongo_collection().count_documents(query)
    left = max(limit - sent, 0)
    if left:
        return replace(state, message_limit=limit, messages_left=left)
    reason = messaging_windows.limit_reason(conversation.platform, sent)
    code = messaging_windows.LIMIT_REACHED
    return replace(state, message_limit=limit, messages_left=0, is_open=False, reason=reason, code=code)


async def _lost_the_race(conversation: Conversation, row: OutboundMessage) -> str | None:
    """Whether `row`, just queued, came after the window's last allowed message (another reply was queued at the
    same time): rows count in the order of their ids, so of two replies racing for the last message one wins."""
    limit = messaging_windows.message_limit(conversation.platform)
    if limit is None or row.status is not OutboundStatus.QUEUED:
        return None
    collection = OutboundMessage.get_pymongo_collection()
    before = await collection.count_documents({**_window_sends(conversation), "_id": {"$lt": row.id}})
    reason = messaging_windows.limit_reason(conversation.platform, before)
    if reason is not None:
        cancel = {"status": OutboundStatus.CANCELLED.value, "error": reason}
        await collection.update_one({"_id": row.id, "status": OutboundStatus.QUEUED.value}, {"$set": cancel})
    return reason


async def reply(
    principal: Principal,
    conversation_id: PydanticObjectId,
    text: str,
    idempotency_key: str,
    now: datetime,
    *,
    tag: str = "",
    template: TemplateRef | None = None,
) -> OutboundMessage:
    """Queue a reply to the contact of a conversation; the same key again returns the same row.

    `tag` sends a message after the standard window where the platform allows it (Meta `HUMAN_AGENT`);
    `template` sends a pre-approved template instead of free text (WhatsApp outside its 24 hours; `text` is
    then what the inbox shows of it). Raises InboxInputError for an empty or oversized text or a malformed key,
    ReplyRefused outside the platform's messaging window, NotInWorkspace for a conversation the principal may
    not see.
    """
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_REPLY_LENGTH:
        raise InboxInputError(f"A reply has 1 to {MAX_REPLY_LENGTH} characters")
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise InboxInputError("The idempotency key has 8 to 100 letters, digits or any of _ . : -")
    conversation = await get_conversation(principal, conversation_id)
    if tag and tag not in message_tags(conversation.platform, conversation.external_id):
        raise InboxInputError(f"The message tag {tag} is not allowed in this conversation (Messenger, Instagram only)")
    probe = Reply(
        to=conversation.external_id,
        text=cleaned,
        kind=ReplyKind.TEMPLATE if template else ReplyKind.MESSAGE,
        tag=tag,
        template=Template(template.name, template.language, template.parameters) if template else None,
    )
    assert conversation.id is not None
    key = inbox_key(f"{conversation.id}:{idempotency_key}")
    window = await _with_count(conversation, window_state(conversation, now, probe), key)  # a retry is no new message
    if not window.is_open:
        raise ReplyRefused(f"This reply cannot be sent {window.reason}.", window.code or "", window)
    outgoing = Outgoing(
        workspace_id=principal.workspace_id,
        channel_id=conversation.channel_id,
        contact_id=conversation.contact_id,
        source=Source.INBOX,
        dedupe_key=key,
        text=cleaned,
        conversation_id=conversation.id,
        kind=ReplyKind.TEMPLATE.value if template else ReplyKind.MESSAGE.value,
        tag=tag,
        template=template,
        extra={"author": principal.actor},
        **(await _spend_reply_token(conversation, now) if template is None else {}),
    )
    row = await enqueue(outgoing, now)
    lost = await _lost_the_race(conversation, row)
    if lost is not None:
        code = messaging_windows.LIMIT_REACHED
        raise ReplyRefused(f"This reply cannot be sent {lost}.", code, replace(window, messages_left=0, code=code))
    await note_first_response(principal.workspace_id, conversation.id, now)  # the team answered: SLA first response
    await stop_waiting(principal.workspace_id, conversation.id, now)  # and the contact waits no more
    if outgoing.reply_token and row.payload.get("reply_token") != outgoing.reply_token:
        await _unspend_reply_token(conversation.id, outgoing.reply_token)  # the key's row was queued before
    return row


async def _spend_reply_token(conversation: Conversation, now: datetime) -> dict[str, Any]:
    """Take the conversation's reply token for this reply while it is fresh (LINE: one free reply per token).

    One atomic update empties it, so two replies at once never both take it: the second goes as a push. The
    row carries when the token stops working; a reply sent later than that goes as a push too.
    """
    lifetime = messaging_windows.reply_token_lifetime(conversation.platform)
    if lifetime is None:
        return {}
    fresh = {"_id": conversation.id, "reply_token": {"$nin": ["", None]}, "reply_token_at": {"$gt": now - lifetime}}
    found = await Conversation.get_pymongo_collection().find_one_and_update(
        fresh, {"$set": {"reply_token": ""}}, projection={"reply_token": 1, "reply_token_at": 1}
    )
    if found is None:
        return {}
    return {"reply_token": str(found["reply_token"]), "reply_token_expires_at": found["reply_token_at"] + lifetime}


async def _unspend_reply_token(conversation_id: PydanticObjectId | None, token: str) -> None:
    """Give a token back that no new row took, unless a newer message's token has arrived since."""
    await Conversation.get_pymongo_collection().update_one(
        {"_id": conversation_id, "reply_token": ""}, {"$set": {"reply_token": token}}
    )

"""Replying from the inbox: a reply is one outbox row, queued once per idempotency key, inside the platform's window.

The key comes from the client (the reply form carries a fresh token each time it is drawn; API callers send
their own), and the outbox's unique `dedupe_key` makes a second submission of the same key return the row
the first one queued: a double click or a retried request sends one message. The key is bound to the
conversation, so a key reused elsewhere can never reach another conversation's (or workspace's) row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId

from scrm import messaging_windows
from scrm.auth.roles import Principal
from scrm.connectors.base import Reply
from scrm.inbox.actions import get_conversation
from scrm.inbox.conversations import InboxInputError
from scrm.models import Conversation, OutboundMessage
from scrm.outbox import Outgoing, Source, enqueue, inbox_key

MAX_REPLY_LENGTH = 4096
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")


class ReplyRefused(Exception):
    """The platform would not take this reply now (its messaging window is closed); the message says why."""


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


def window_state(conversation: Conversation, now: datetime) -> WindowState:
    """Where a conversation stands in its platform's messaging window (the rules delivery enforces)."""
    probe = Reply(to=conversation.external_id, text="")
    window = messaging_windows.window_for(conversation.platform, probe)
    if window is None:
        return WindowState(None, None, True, None)
    last = conversation.last_inbound_at
    reason = messaging_windows.closed_reason(conversation.platform, probe, last, now)
    hours = int(window.length.total_seconds() // 3600)
    return WindowState(hours, last + window.length if last else None, reason is None, reason)


async def reply(
    principal: Principal, conversation_id: PydanticObjectId, text: str, idempotency_key: str, now: datetime
) -> OutboundMessage:
    """Queue a reply to the contact of a conversation; the same key again returns the same row.

    Raises InboxInputError for an empty or oversized text or a malformed key, ReplyRefused outside the
    platform's messaging window, NotInWorkspace for a conversation the principal may not see.
    """
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_REPLY_LENGTH:
        raise InboxInputError(f"A reply has 1 to {MAX_REPLY_LENGTH} characters")
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise InboxInputError("The idempotency key has 8 to 100 letters, digits or any of _ . : -")
    conversation = await get_conversation(principal, conversation_id)
    window = window_state(conversation, now)
    if not window.is_open:
        raise ReplyRefused(f"This reply cannot be sent {window.reason}.")
    assert conversation.id is not None
    outgoing = Outgoing(
        workspace_id=principal.workspace_id,
        channel_id=conversation.channel_id,
        contact_id=conversation.contact_id,
        source=Source.INBOX,
        dedupe_key=inbox_key(f"{conversation.id}:{idempotency_key}"),
        text=cleaned,
        conversation_id=conversation.id,
        extra={"author": principal.actor},
    )
    return await enqueue(outgoing, now)

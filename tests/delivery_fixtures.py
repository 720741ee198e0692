"""Contacts, conversations and queued messages as the delivery tests need them, and the platforms' answers."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from beanie import PydanticObjectId

from scrm.channel_access import ChannelDirectory
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.delivery import DeliveryContext
from scrm.models import Consent, ConsentStatus, Contact, Conversation, Identity, OutboundMessage
from scrm.models.sealed import SecretBox
from scrm.outbox import Outgoing, Source, enqueue
from scrm.platform_state import MongoTokenStore
from tests import platform_fakes
from tests.conftest import TEST_SECRET_KEY
from tests.platform_fakes import TELEGRAM_CREDENTIALS

TELEGRAM_SEND = f"https://api.telegram.org/bot{TELEGRAM_CREDENTIALS['bot_token']}/sendMessage"
LINE_PUSH = "https://api.line.me/v2/bot/message/push"
META_CREDENTIALS = {"app_secret": "meta-app-secret", "verify_token": "verify", "page_access_token": "PAGE-TOKEN"}
LINE_CREDENTIALS = {"channel_secret": "line-secret", "channel_access_token": "revoked-token"}


@dataclass(frozen=True)
class Person:
    """A contact with one identity on the channel and their conversation there."""

    contact_id: PydanticObjectId
    conversation_id: PydanticObjectId


async def person(
    channel: platform_fakes.TestChannel,
    user_id: str,
    last_inbound_at: datetime | None,
    *,
    timezone: str | None = None,
    consent: ConsentStatus = ConsentStatus.UNKNOWN,
    blocked: bool = False,
) -> Person:
    """Store a contact who (maybe) wrote to the channel at `last_inbound_at`."""
    identity = Identity(platform=channel.platform, external_id=user_id, channel_id=channel.id)
    contact = await Contact(
        workspace_id=channel.workspace_id,
        identities=[identity],
        timezone=timezone,
        consent=Consent(status=consent),
        blocked=blocked,
    ).insert()
    assert contact.id is not None
    conversation = await Conversation(
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        contact_id=contact.id,
        platform=channel.platform,
        external_id=user_id,
        last_inbound_at=last_inbound_at,
    ).insert()
    assert conversation.id is not None
    return Person(contact.id, conversation.id)


async def queue(
    channel: platform_fakes.TestChannel,
    who: Person,
    text: str,
    now: datetime,
    source: Source = Source.INBOX,
    *,
    in_thread: bool = True,
    **extra: Any,
) -> OutboundMessage:
    """Enqueue one message to `who`, naming their conversation (as a reply does) or not (as a campaign does)."""
    outgoing = Outgoing(
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        contact_id=who.contact_id,
        conversation_id=who.conversation_id if in_thread else None,
        source=source,
        dedupe_key=f"{source}:{text}",
        text=text,
        **extra,
    )
    return await enqueue(outgoing, now)


async def reload(row: OutboundMessage) -> OutboundMessage:
    """The row as stored now."""
    found = await OutboundMessage.get(row.id)
    assert found is not None
    return found


def delivery(http: httpx.AsyncClient, now: datetime, batch: int = 200, concurrency: int = 32) -> DeliveryContext:
    """A delivery context as the worker builds one, stamping outcomes at `now`."""
    box = SecretBox.from_secret_key(TEST_SECRET_KEY)
    directory = ChannelDirectory(box, clock=lambda: 0.0)  # no caching across the test's steps
    tokens, buckets = MongoTokenStore(box, lambda: now), ChannelBuckets(SystemClock())
    return DeliveryContext(directory, tokens, http, buckets, lambda: now, batch=batch, concurrency=concurrency)


MESSAGE_IDS = itertools.count(100)


def telegram_sent(request: httpx.Request) -> httpx.Response:
    """Telegram's answer to sendMessage: the Message it sent, in its own chat."""
    body = json.loads(request.content)
    chat = {"id": int(body["chat_id"]), "type": "private"}
    result = {"message_id": next(MESSAGE_IDS), "chat": chat, "date": 1779270000, "text": body["text"]}
    return httpx.Response(200, json={"ok": True, "result": result})

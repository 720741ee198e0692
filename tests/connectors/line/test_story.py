"""LINE end to end: a signed webhook in through the ingress, an agent's replies out through the outbox.

The first reply spends the message's reply token (free, once); the next goes as a push with an
``X-Line-Retry-Key``; an expired token goes by push too. Only LINE's side of HTTP is faked (``line_server``);
the ingress, the pipeline, MongoDB, the API and the delivery are the product's own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.line.connector import RETRY_KEYS, Line
from scrm.db import Database
from scrm.delivery import deliver_due
from scrm.models import Channel, ChannelStatus, Contact, Conversation, OutboundMessage, OutboundStatus
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore
from scrm.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.delivery_fixtures import delivery
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import LINE_CREDENTIALS, api_headers, line_headers, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .line_server import BOT_USER_ID, LineServer

SATO = "U4af4980629f1e2d3c4b5a69788796a5b"


@pytest.fixture
def line() -> Iterator[LineServer]:
    """LINE's side of HTTP for the channel, with one customer who follows the account."""
    server = LineServer(LINE_CREDENTIALS["channel_access_token"])
    server.add_user(SATO, "佐藤 花子")
    with respx.mock(assert_all_called=False) as router:
        server.mount(router)
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The client delivery sends through."""
    async with httpx.AsyncClient() as shared:
        yield shared


async def receive(client: httpx.AsyncClient, settings: Settings, channel: StoredChannel, event: dict[str, Any]) -> None:
    """LINE posts the event, signed with the channel secret; the worker's pipeline records it."""
    body = json.dumps({"destination": BOT_USER_ID, "events": [event]}).encode()
    response = await client.post(f"/webhooks/line/{channel.id}", content=body, headers=line_headers(body))
    assert response.status_code == 200
    await drain(settings)


async def reply(client: httpx.AsyncClient, headers: dict[str, str], conversation: str, text: str, key: str) -> str:
    """An agent replies through the API; returns the outbox row's id."""
    url = f"/api/v1/conversations/{conversation}/replies"
    response = await client.post(url, json={"text": text, "idempotency_key": key}, headers=headers)
    assert response.status_code == 201, response.text
    row_id: str = response.json()["id"]
    return row_id


async def deliver(http: httpx.AsyncClient, at: datetime | None = None) -> int:
    """One round of the outbox, as the worker runs it."""
    now = at or datetime.now(UTC)
    return await deliver_due(delivery(http, now), now)


async def the_conversation(channel: StoredChannel) -> Conversation:
    found = await Conversation.find_one(Conversation.channel_id == channel.id)
    assert found is not None
    return found


async def test_the_first_reply_spends_the_reply_token_once_and_the_second_is_pushed_with_a_retry_key(
    client: httpx.AsyncClient, database: Database, settings: Settings, line: LineServer, http: httpx.AsyncClient
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    event = line.message_event(SATO, "こんにちは、今日は営業していますか？")
    await receive(client, settings, channel, event)
    conversation = await the_conversation(channel)
    assert conversation.reply_token == event["replyToken"]
    contact = await Contact.get(conversation.contact_id)
    assert contact is not None and contact.name == ""  # LINE's webhook carries only the user id

    headers = await api_headers(channel.workspace_id)
    first = await reply(client, headers, str(conversation.id), "はい、10時から営業しています。", "reply-0001")
    again = await reply(client, headers, str(conversation.id), "はい、10時から営業しています。", "reply-0001")
    assert again == first  # the same key is the same message, and spends no second token
    second = await reply(client, headers, str(conversation.id), "お待ちしております。", "reply-0002")
    assert await deliver(http) == 2

    [answered] = line.replies
    assert (answered.reply_token, answered.to) == (event["replyToken"], SATO)
    assert answered.text == "はい、10時から営業しています。"
    [pushed] = line.pushes
    assert (pushed.to, pushed.text) == (SATO, "お待ちしております。")
    assert pushed.retry_key == str(uuid.uuid5(RETRY_KEYS, second))
    assert (await the_conversation(channel)).reply_token == ""

    rows = {str(row.id): row async for row in OutboundMessage.find_all()}
    assert rows[first].status is OutboundStatus.SENT and rows[first].external_id == answered.message_id
    assert rows[second].status is OutboundStatus.SENT and rows[second].external_id == pushed.message_id

    thread = await client.get(f"/api/v1/conversations/{conversation.id}/messages", headers=headers)
    shown = sorted((m["direction"], m["text"]) for m in thread.json()["items"])
    assert shown == [
        ("inbound", "こんにちは、今日は営業していますか？"),
        ("outbound", "お待ちしております。"),
        ("outbound", "はい、10時から営業しています。"),
    ]
    found = (await client.get(f"/api/v1/contacts/{conversation.contact_id}", headers=headers)).json()
    assert found["name"] == "佐藤 花子"  # filled from GET /v2/bot/profile/{userId} after the first send
    stored = await Contact.get(conversation.contact_id)
    assert stored is not None and stored.avatar_url == line.profiles[SATO]["pictureUrl"]


async def test_a_token_older_than_a_minute_is_not_spent_and_the_reply_goes_by_push(
    client: httpx.AsyncClient, database: Database, settings: Settings, line: LineServer, http: httpx.AsyncClient
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    two_minutes_ago = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp() * 1000)
    event = line.message_event(SATO, "Are you open on Sunday?", sent_ms=two_minutes_ago)
    await receive(client, settings, channel, event)
    conversation = await the_conversation(channel)
    headers = await api_headers(channel.workspace_id)
    row = await reply(client, headers, str(conversation.id), "Yes, 10:00 to 18:00.", "late-reply-01")

    assert await deliver(http) == 1
    assert line.replies == [] and [p.text for p in line.pushes] == ["Yes, 10:00 to 18:00."]
    stored = await OutboundMessage.get(row)
    assert stored is not None and "reply_token" not in stored.payload


async def test_a_push_whose_answer_was_lost_is_retried_with_its_key_and_sent_once(
    client: httpx.AsyncClient, database: Database, settings: Settings, line: LineServer, http: httpx.AsyncClient
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    await receive(client, settings, channel, line.message_event(SATO, "hello", sent_ms=0))
    conversation = await the_conversation(channel)
    headers = await api_headers(channel.workspace_id)
    row = await reply(client, headers, str(conversation.id), "Hello! How can we help?", "lost-answer-1")
    line.lose_next_push_answer = True

    assert await deliver(http) == 1

    [pushed] = line.pushes  # LINE took the first attempt; the retry with the same key was answered 409
    assert pushed.text == "Hello! How can we help?"
    stored = await OutboundMessage.get(row)
    assert stored is not None and stored.status is OutboundStatus.SENT


async def test_a_429_reschedules_the_reply_and_a_revoked_token_holds_it_until_the_channel_is_reauthorised(
    client: httpx.AsyncClient, database: Database, settings: Settings, line: LineServer, http: httpx.AsyncClient
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    await receive(client, settings, channel, line.message_event(SATO, "Is my order ready?", sent_ms=0))
    conversation = await the_conversation(channel)
    headers = await api_headers(channel.workspace_id)
    row_id = await reply(client, headers, str(conversation.id), "It ships today.", "order-ready-1")
    now = datetime.now(UTC)

    line.throttle = 1
    assert await deliver(http, now) == 1
    waiting = await OutboundMessage.get(row_id)
    assert waiting is not None and waiting.status is OutboundStatus.QUEUED and waiting.not_before is not None
    assert waiting.not_before > now and waiting.attempts == 1
    assert waiting.error.startswith("rate limited by the platform") and line.pushes == []
    assert await deliver(http, now) == 0  # not lost, not sent early: it waits for its time

    line.revoke()
    later = waiting.not_before + timedelta(seconds=1)
    assert await deliver(http, later) == 1
    held = await OutboundMessage.get(row_id)
    assert held is not None and held.status is OutboundStatus.QUEUED
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == ChannelStatus.UNHEALTHY.value
    assert shown["status_reason"].startswith("line: the channel access token is invalid, expired or revoked")
    connector = Line(MongoTokenStore(SecretBox.from_secret_key(TEST_SECRET_KEY), lambda: datetime.now(UTC)))
    problem = await connector.check_credentials(http, LINE_CREDENTIALS)
    assert problem is not None and problem.startswith("line: the channel access token is invalid")

    line.issue_token("reissued-line-token")
    patch = {"credentials": {"channel_access_token": "reissued-line-token"}}
    assert (await client.patch(f"/api/v1/channels/{channel.id}", json=patch, headers=headers)).status_code == 200
    assert await connector.check_credentials(http, {**LINE_CREDENTIALS, **patch["credentials"]}) is None
    assert await deliver(http, later) == 1
    sent = await OutboundMessage.get(row_id)
    assert sent is not None and sent.status is OutboundStatus.SENT
    assert [p.text for p in line.pushes] == ["It ships today."]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE


async def test_two_agents_replying_at_once_spend_the_token_once(
    client: httpx.AsyncClient, database: Database, settings: Settings, line: LineServer, http: httpx.AsyncClient
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    event = line.message_event(SATO, "Can I change my order?")
    await receive(client, settings, channel, event)
    conversation = await the_conversation(channel)
    headers = await api_headers(channel.workspace_id)
    texts = [f"Of course ({n})" for n in range(6)]
    await asyncio.gather(
        *(reply(client, headers, str(conversation.id), text, f"race-{n:04d}") for n, text in enumerate(texts))
    )
    assert await deliver(http) == len(texts)
    [answered] = line.replies
    assert answered.reply_token == event["replyToken"]
    assert len(line.pushes) == len(texts) - 1
    assert sorted(s.text for s in line.sent) == texts
    assert line.refused == []  # no call was made with a token someone else had spent

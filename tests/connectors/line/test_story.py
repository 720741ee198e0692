"""LINE end to end: a signed webhook in through the ingress, an agent's replies out through the outbox.

The first reply spends the message's reply token (free, once); the next goes as a push with an
``X-Line-Retry-Key``; an expired token goes by push too. Only LINE's side of HTTP is faked (``line_server``);
the ingress, the pipeline, MongoDB, the API and the delivery are the product's own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrm.connectors.line.connector import RETRY_KEYS, Line
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Contact, OutboundMessage, OutboundStatus
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore
from tests.conftest import TEST_SECRET_KEY
from tests.platform_fakes import LINE_CREDENTIALS, line_headers, make_channel
from tests.platform_fakes import TestChannel as StoredChannel
from tests.story_fixtures import ChannelStory, mounted

from .line_server import BOT_USER_ID, LineServer

SATO = "U4af4980629f1e2d3c4b5a69788796a5b"


@pytest.fixture
def line() -> Iterator[LineServer]:
    """LINE's side of HTTP for the channel, with one customer who follows the account."""
    server = LineServer(LINE_CREDENTIALS["channel_access_token"])
    server.add_user(SATO, "佐藤 花子")
    with mounted(server):
        yield server


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("line", LINE_CREDENTIALS)


async def receive(story: ChannelStory, event: dict[str, Any]) -> None:
    """LINE posts the event, signed with the channel secret; the worker's pipeline records it."""
    body = json.dumps({"destination": BOT_USER_ID, "events": [event]}).encode()
    await story.receive(body, line_headers(body))


async def test_the_first_reply_spends_the_reply_token_once_and_the_second_is_pushed_with_a_retry_key(
    story: ChannelStory, line: LineServer
) -> None:
    event = line.message_event(SATO, "こんにちは、今日は営業していますか？")
    await receive(story, event)
    conversation = await story.conversation()
    assert conversation.reply_token == event["replyToken"]
    contact = await Contact.get(conversation.contact_id)
    assert contact is not None and contact.name == ""  # LINE's webhook carries only the user id

    first = await story.reply(conversation, "はい、10時から営業しています。", "reply-0001")
    again = await story.reply(conversation, "はい、10時から営業しています。", "reply-0001")
    assert again == first  # the same key is the same message, and spends no second token
    second = await story.reply(conversation, "お待ちしております。", "reply-0002")
    assert await story.deliver() == 2

    [answered] = line.replies
    assert (answered.reply_token, answered.to) == (event["replyToken"], SATO)
    assert answered.text == "はい、10時から営業しています。"
    [pushed] = line.pushes
    assert (pushed.to, pushed.text) == (SATO, "お待ちしております。")
    assert pushed.retry_key == str(uuid.uuid5(RETRY_KEYS, second))
    assert (await story.conversation()).reply_token == ""

    rows = {str(row.id): row async for row in OutboundMessage.find_all()}
    assert rows[first].status is OutboundStatus.SENT and rows[first].external_id == answered.message_id
    assert rows[second].status is OutboundStatus.SENT and rows[second].external_id == pushed.message_id

    thread = await story.get(f"/api/v1/conversations/{conversation.id}/messages")
    shown = sorted((m["direction"], m["text"]) for m in thread.json()["items"])
    assert shown == [
        ("inbound", "こんにちは、今日は営業していますか？"),
        ("outbound", "お待ちしております。"),
        ("outbound", "はい、10時から営業しています。"),
    ]
    found = (await story.get(f"/api/v1/contacts/{conversation.contact_id}")).json()
    assert found["name"] == "佐藤 花子"  # filled from GET /v2/bot/profile/{userId} after the first send
    stored = await Contact.get(conversation.contact_id)
    assert stored is not None and stored.avatar_url == line.profiles[SATO]["pictureUrl"]


async def test_a_token_older_than_a_minute_is_not_spent_and_the_reply_goes_by_push(
    story: ChannelStory, line: LineServer
) -> None:
    two_minutes_ago = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp() * 1000)
    event = line.message_event(SATO, "Are you open on Sunday?", sent_ms=two_minutes_ago)
    await receive(story, event)
    conversation = await story.conversation()
    row = await story.reply(conversation, "Yes, 10:00 to 18:00.", "late-reply-01")

    assert await story.deliver() == 1
    assert line.replies == [] and [p.text for p in line.pushes] == ["Yes, 10:00 to 18:00."]
    stored = await OutboundMessage.get(row)
    assert stored is not None and "reply_token" not in stored.payload


async def test_a_push_whose_answer_was_lost_is_retried_with_its_key_and_sent_once(
    story: ChannelStory, line: LineServer
) -> None:
    await receive(story, line.message_event(SATO, "hello", sent_ms=0))
    conversation = await story.conversation()
    row = await story.reply(conversation, "Hello! How can we help?", "lost-answer-1")
    line.lose_next_push_answer = True

    assert await story.deliver() == 1

    [pushed] = line.pushes  # LINE took the first attempt; the retry with the same key was answered 409
    assert pushed.text == "Hello! How can we help?"
    stored = await OutboundMessage.get(row)
    assert stored is not None and stored.status is OutboundStatus.SENT


async def test_a_429_reschedules_the_reply_and_a_revoked_token_holds_it_until_the_channel_is_reauthorised(
    story: ChannelStory, line: LineServer
) -> None:
    await receive(story, line.message_event(SATO, "Is my order ready?", sent_ms=0))
    conversation = await story.conversation()
    row_id = await story.reply(conversation, "It ships today.", "order-ready-1")
    now = datetime.now(UTC)

    line.throttle = 1
    assert await story.deliver(now) == 1
    waiting = await OutboundMessage.get(row_id)
    assert waiting is not None and waiting.status is OutboundStatus.QUEUED and waiting.not_before is not None
    assert waiting.not_before > now and waiting.attempts == 1
    assert waiting.error.startswith("rate limited by the platform") and line.pushes == []
    assert await story.deliver(now) == 0  # not lost, not sent early: it waits for its time

    line.revoke()
    later = waiting.not_before + timedelta(seconds=1)
    assert await story.deliver(later) == 1
    held = await OutboundMessage.get(row_id)
    assert held is not None and held.status is OutboundStatus.QUEUED
    shown = (await story.get(f"/api/v1/channels/{story.channel.id}")).json()
    assert shown["status"] == ChannelStatus.UNHEALTHY.value
    assert shown["status_reason"].startswith("line: the channel access token is invalid, expired or revoked")
    connector = Line(MongoTokenStore(SecretBox.from_secret_key(TEST_SECRET_KEY), lambda: datetime.now(UTC)))
    problem = await connector.check_credentials(story.http, LINE_CREDENTIALS)
    assert problem is not None and problem.startswith("line: the channel access token is invalid")

    line.issue_token("reissued-line-token")
    patch = {"credentials": {"channel_access_token": "reissued-line-token"}}
    patched = await story.client.patch(f"/api/v1/channels/{story.channel.id}", json=patch, headers=story.headers)
    assert patched.status_code == 200
    assert await connector.check_credentials(story.http, {**LINE_CREDENTIALS, **patch["credentials"]}) is None
    assert await story.deliver(later) == 1
    sent = await OutboundMessage.get(row_id)
    assert sent is not None and sent.status is OutboundStatus.SENT
    assert [p.text for p in line.pushes] == ["It ships today."]
    stored = await Channel.get(story.channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE


async def test_two_agents_replying_at_once_spend_the_token_once(story: ChannelStory, line: LineServer) -> None:
    event = line.message_event(SATO, "Can I change my order?")
    await receive(story, event)
    conversation = await story.conversation()
    texts = [f"Of course ({n})" for n in range(6)]
    await asyncio.gather(*(story.reply(conversation, text, f"race-{n:04d}") for n, text in enumerate(texts)))
    assert await story.deliver() == len(texts)
    [answered] = line.replies
    assert answered.reply_token == event["replyToken"]
    assert len(line.pushes) == len(texts) - 1
    assert sorted(s.text for s in line.sent) == texts
    assert line.refused == []  # no call was made with a token someone else had spent

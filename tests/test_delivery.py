"""Delivery: queued messages reach the platform once, or wait, or fail with a reason people can read.

Only the platforms are faked (respx at the httpx transport); MongoDB, the connectors and the checks are real.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from scrm import outbound_queue
from scrm.db import Database
from scrm.delivery import MAX_ATTEMPTS, DeliveryContext, deliver_due
from scrm.models import Channel, ChannelStatus, Conversation, Direction, Message, OutboundMessage, OutboundStatus
from scrm.settings import Settings
from scrm.worker import running_worker
from tests.delivery_fixtures import (
    LINE_CREDENTIALS,
    LINE_PUSH,
    TELEGRAM_SEND,
    delivery,
    person,
    queue,
    reload,
    telegram_sent,
)
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client delivery sends through; respx answers for the platforms."""
    async with httpx.AsyncClient() as client:
        yield client


@respx.mock
async def test_a_telegram_reply_reaches_the_chat_once_and_shows_in_the_conversation(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    mia = await person(channel, "777", now - timedelta(days=30))
    row = await queue(channel, mia, "We ship to Berlin in 2 days.", now)

    assert await deliver_due(delivery(http, now), now) == 1
    assert await deliver_due(delivery(http, now), now) == 0

    assert route.call_count == 1
    assert json.loads(route.calls[0].request.content) == {"chat_id": "777", "text": "We ship to Berlin in 2 days."}
    sent = await reload(row)
    assert sent.status is OutboundStatus.SENT and sent.sent_at == now and sent.attempts == 1
    message = await Message.find_one(Message.outbound_id == row.id)
    assert message is not None and message.external_id == sent.external_id
    assert sent.external_id == f"777:{route.calls[0].response.json()['result']['message_id']}"
    assert message.direction is Direction.OUTBOUND and message.conversation_id == mia.conversation_id
    assert message.text == "We ship to Berlin in 2 days." and message.delivery_status == "sent"
    conversation = await Conversation.get(mia.conversation_id)
    assert conversation is not None and conversation.last_message_preview == "We ship to Berlin in 2 days."


@respx.mock
async def test_a_rate_limited_send_waits_for_the_platform_and_is_not_failed(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    flood = {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 120}}
    route = respx.post(TELEGRAM_SEND).mock(return_value=httpx.Response(429, json=flood))
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    row = await queue(channel, await person(channel, "777", now), "hello", now)

    await deliver_due(delivery(http, now), now)

    later = await reload(row)
    assert later.status is OutboundStatus.QUEUED and later.not_before == now + timedelta(seconds=120)
    assert "rate limited" in later.error and route.call_count == 1
    assert await deliver_due(delivery(http, now), now + timedelta(seconds=60)) == 0


@respx.mock
async def test_a_passing_failure_is_retried_with_backoff_then_given_up(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    respx.post(TELEGRAM_SEND).mock(return_value=httpx.Response(502, text="Bad Gateway"))
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    row = await queue(channel, await person(channel, "777", now), "hello", now)

    await deliver_due(delivery(http, now), now)
    retry = await reload(row)
    assert retry.status is OutboundStatus.QUEUED and retry.not_before == now + timedelta(seconds=30)

    at = now
    for _ in range(MAX_ATTEMPTS - 1):
        at = (await reload(row)).not_before or at
        await deliver_due(delivery(http, at), at)
    given_up = await reload(row)
    assert given_up.status is OutboundStatus.FAILED and given_up.attempts == MAX_ATTEMPTS
    assert given_up.error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


@respx.mock
async def test_refused_credentials_mark_the_channel_unhealthy_and_keep_the_message(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    push = respx.post(LINE_PUSH).mock(return_value=httpx.Response(401, json={"message": "Authentication failed"}))
    channel = await make_channel("line", LINE_CREDENTIALS)
    row = await queue(channel, await person(channel, "U4af4980629", None), "Thanks for following!", now)

    await deliver_due(delivery(http, now), now)

    held = await reload(row)
    assert held.status is OutboundStatus.QUEUED and held.attempts == 0 and held.lease_owner is None
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY and stored.status_changed_at == now
    assert stored.status_reason.startswith("line: the channel access token is invalid, expired or revoked")
    assert await deliver_due(delivery(http, now), now) == 0 and push.call_count == 1

    push.mock(return_value=httpx.Response(200, json={"sentMessages": [{"id": "4711", "quoteToken": "q"}]}))
    await Channel.get_pymongo_collection().update_one({"_id": channel.id}, {"$set": {"status": "active"}})
    assert await deliver_due(delivery(http, now), now) == 1
    sent = await reload(row)
    assert sent.status is OutboundStatus.SENT and sent.external_id == "4711" and push.call_count == 2


@respx.mock
async def test_a_revoked_bot_token_pauses_the_channel_instead_of_failing_its_messages(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    refused = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    route = respx.post(TELEGRAM_SEND).mock(return_value=httpx.Response(401, json=refused))
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    mia = await person(channel, "777", now)
    rows = [await queue(channel, mia, f"message {n}", now) for n in range(3)]

    await deliver_due(delivery(http, now, concurrency=1), now)

    assert [(await reload(row)).status for row in rows] == [OutboundStatus.QUEUED] * 3
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY
    assert stored.status_reason.startswith("telegram: the bot token was refused")
    assert route.call_count == 1  # the other messages of the round were held back without a call


@respx.mock
async def test_two_workers_delivering_at_once_send_every_message_once(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel.id}, {"$set": {"config.send_rate_per_second": 10_000}}
    )
    mia = await person(channel, "777", now)
    for n in range(120):
        await queue(channel, mia, f"message {n}", now)

    async def drain(context: DeliveryContext) -> None:
        while await deliver_due(context, now):
            pass

    await asyncio.gather(*(drain(delivery(http, now, batch=size)) for size in (7, 11, 5, 3)))

    texts = [json.loads(call.request.content)["text"] for call in route.calls]
    assert sorted(texts) == sorted(f"message {n}" for n in range(120))
    assert await OutboundMessage.find(OutboundMessage.status == OutboundStatus.SENT).count() == 120
    assert await Message.find(Message.direction == Direction.OUTBOUND).count() == 120


@respx.mock
async def test_a_slow_round_never_sends_rows_another_round_took_over(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    answer, calls = asyncio.Event(), itertools.count()

    async def platform(request: httpx.Request) -> httpx.Response:
        if next(calls) == 0:  # the first round's first send hangs until the second round is done
            await answer.wait()
        return telegram_sent(request)

    route = respx.post(TELEGRAM_SEND).mock(side_effect=platform)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    mia = await person(channel, "777", now)
    rows = [await queue(channel, mia, f"message {n}", now) for n in range(3)]
    slow = asyncio.create_task(deliver_due(delivery(http, now, concurrency=1), now))
    for _ in range(500):
        if route.call_count:
            break
        await asyncio.sleep(0.01)

    later = now + outbound_queue.CLAIM_LEASE + timedelta(seconds=1)
    assert await deliver_due(delivery(http, later), later) == 2  # the slow round's claim lease ran out
    answer.set()
    assert await slow == 3

    texts = sorted(json.loads(call.request.content)["text"] for call in route.calls)
    assert texts == ["message 0", "message 1", "message 2"]
    assert [(await reload(row)).status for row in rows] == [OutboundStatus.SENT] * 3


@respx.mock
async def test_a_message_left_sending_by_a_crashed_worker_is_never_sent_blindly(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    mia = await person(channel, "777", now)
    unknown = await queue(channel, mia, "lost in the crash", now)
    recorded = await queue(channel, mia, "sent, then the crash", now)
    resend = await queue(channel, mia, "better twice than never", now, resend_after_crash=True)
    marks = outbound_queue.SendingMarks()
    for row in await outbound_queue.claim(now, 10, "worker-that-dies"):
        assert await marks.mark(row, mia.conversation_id, now)
    await Message(  # the dead worker got this far for one of them: the platform's answer was stored
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        conversation_id=mia.conversation_id,
        contact_id=mia.contact_id,
        platform="telegram",
        external_id="777:9",
        direction=Direction.OUTBOUND,
        text="sent, then the crash",
        sent_at=now,
        outbound_id=recorded.id,
    ).insert()

    assert await deliver_due(delivery(http, now), now) == 0  # still within the dead worker's lease
    after = now + outbound_queue.SENDING_LEASE + timedelta(seconds=1)
    await deliver_due(delivery(http, after), after)

    lost = await reload(unknown)
    assert lost.status is OutboundStatus.FAILED and lost.error == outbound_queue.UNKNOWN_OUTCOME
    done = await reload(recorded)
    assert done.status is OutboundStatus.SENT and done.external_id == "777:9"
    assert (await reload(resend)).status is OutboundStatus.QUEUED and route.call_count == 0
    await deliver_due(delivery(http, after), after)
    assert (await reload(resend)).status is OutboundStatus.SENT and route.call_count == 1


@respx.mock
async def test_the_worker_sends_what_is_queued(database: Database, settings: Settings) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    now = datetime.now(UTC)
    row = await queue(channel, await person(channel, "777", now), "from the worker", now)
    async with running_worker("worker", settings, jobs=[]):
        for _ in range(200):
            if (await reload(row)).status is OutboundStatus.SENT:
                break
            await asyncio.sleep(0.05)
    assert (await reload(row)).status is OutboundStatus.SENT and route.call_count == 1

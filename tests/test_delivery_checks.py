"""The checks before a send: messaging windows, blocks, consent, quiet hours and frequency caps.

Only the platforms are faked (respx at the httpx transport); MongoDB, the connectors and the checks are real.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from scrm.connectors.meta.graph import GRAPH_URL
from scrm.db import Database
from scrm.delivery import deliver_due
from scrm.models import ConsentStatus, Message, OutboundStatus
from scrm.outbox import Source, TemplateRef
from tests.delivery_fixtures import (
    LINE_CREDENTIALS,
    LINE_PUSH,
    META_CREDENTIALS,
    TELEGRAM_SEND,
    delivery,
    person,
    queue,
    reload,
    telegram_sent,
)
from tests.platform_fakes import TELEGRAM_CREDENTIALS, WECHAT_CREDENTIALS, make_channel


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client delivery sends through; respx answers for the platforms."""
    async with httpx.AsyncClient() as client:
        yield client


@respx.mock
async def test_a_wechat_reply_after_48_hours_fails_with_the_reason_and_no_call(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    anything = respx.route().mock(return_value=httpx.Response(500))
    channel = await make_channel("wechat", WECHAT_CREDENTIALS)
    wang = await person(channel, "oUser_wang_0001", now - timedelta(hours=49))
    row = await queue(channel, wang, "Your order has shipped", now)

    await deliver_due(delivery(http, now), now)

    failed = await reload(row)
    assert failed.status is OutboundStatus.FAILED
    assert failed.error == "outside WeChat's 48-hour customer-service window: the contact last wrote 49 hours ago"
    assert anything.call_count == 0 and failed.attempts == 0


@respx.mock
async def test_messenger_after_24_hours_needs_the_human_agent_tag(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(f"{GRAPH_URL}/me/messages").mock(
        return_value=httpx.Response(200, json={"recipient_id": "2441", "message_id": "m_abc"})
    )
    channel = await make_channel("meta", META_CREDENTIALS)
    ana = await person(channel, "facebook:2441", now - timedelta(hours=30))
    untagged = await queue(channel, ana, "Are you still interested?", now)
    tagged = await queue(channel, ana, "An agent here: your refund is done.", now, tag="HUMAN_AGENT")

    await deliver_due(delivery(http, now), now)

    refused = await reload(untagged)
    assert refused.status is OutboundStatus.FAILED and refused.error.startswith("outside Messenger's 24-hour")
    sent = await reload(tagged)
    assert sent.status is OutboundStatus.SENT and sent.external_id == "facebook:m_abc"
    assert route.call_count == 1
    body = json.loads(route.calls[0].request.content)
    assert body["recipient"] == {"id": "2441"} and body["messaging_type"] == "MESSAGE_TAG"
    assert body["tag"] == "HUMAN_AGENT"


@respx.mock
async def test_whatsapp_after_24_hours_takes_a_template_but_not_a_text(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(f"{GRAPH_URL}/1065/messages").mock(
        return_value=httpx.Response(200, json={"messages": [{"id": "wamid.HBgL"}]})
    )
    credentials = {**META_CREDENTIALS, "whatsapp_token": "WA-TOKEN", "whatsapp_phone_number_id": "1065"}
    channel = await make_channel("meta", credentials)
    li = await person(channel, "whatsapp:4915112345678", now - timedelta(hours=30))
    text = await queue(channel, li, "Still there?", now)
    template = TemplateRef("order_update", "en", ("A-17",))
    reminder = await queue(channel, li, "Your order A-17 shipped", now, kind="template", template=template)

    await deliver_due(delivery(http, now), now)

    refused = await reload(text)
    assert refused.status is OutboundStatus.FAILED
    assert refused.error.startswith("outside WhatsApp's 24-hour customer-service window (only a template")
    sent = await reload(reminder)
    assert sent.status is OutboundStatus.SENT and sent.external_id == "whatsapp:wamid.HBgL"
    body = json.loads(route.calls[0].request.content)
    assert route.call_count == 1 and body["type"] == "template" and body["to"] == "4915112345678"
    assert body["template"]["name"] == "order_update"


@respx.mock
async def test_a_line_reply_uses_the_reply_token_while_it_lasts(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    reply = respx.post("https://api.line.me/v2/bot/message/reply").mock(
        return_value=httpx.Response(200, json={"sentMessages": [{"id": "5501", "quoteToken": "q"}]})
    )
    push = respx.post(LINE_PUSH).mock(return_value=httpx.Response(500))
    channel = await make_channel("line", {**LINE_CREDENTIALS, "channel_access_token": "good-token"})
    sato = await person(channel, "U4af4980629", now - timedelta(days=40))
    expires = datetime.now(UTC) + timedelta(minutes=1)
    row = await queue(
        channel, sato, "Thanks!", now, reply_token="nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", reply_token_expires_at=expires
    )

    await deliver_due(delivery(http, now), now)

    assert (await reload(row)).status is OutboundStatus.SENT and (await reload(row)).external_id == "5501"
    assert json.loads(reply.calls[0].request.content)["replyToken"] == "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
    assert reply.call_count == 1 and push.call_count == 0


@respx.mock
async def test_blocked_contacts_and_withdrawn_consent_cancel_marketing_but_not_replies(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    blocked = await person(channel, "1", now, blocked=True)
    opted_out = await person(channel, "2", now, consent=ConsentStatus.DENIED)
    to_blocked = await queue(channel, blocked, "Spring sale", now, Source.CAMPAIGN)
    to_opted_out = await queue(channel, opted_out, "Summer sale", now, Source.CAMPAIGN)
    reply = await queue(channel, opted_out, "Your parcel left", now, Source.INBOX)

    await deliver_due(delivery(http, now), now)

    assert (await reload(to_blocked)).status is OutboundStatus.CANCELLED
    assert (await reload(to_blocked)).error == "the contact is blocked"
    cancelled = await reload(to_opted_out)
    assert (
        cancelled.status is OutboundStatus.CANCELLED
        and cancelled.error == "the contact has withdrawn marketing consent"
    )
    assert (await reload(reply)).status is OutboundStatus.SENT
    assert [json.loads(call.request.content)["text"] for call in route.calls] == ["Your parcel left"]


@respx.mock
async def test_marketing_in_quiet_hours_waits_for_the_contacts_morning(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    # 09:30 UTC is 05:30 in New York (EDT, UTC-4): quiet until 09:00 there, 13:00 UTC
    nyc = await person(channel, "3", now, timezone="America/New_York")
    campaign = await queue(channel, nyc, "Our new collection", now, Source.JOURNEY, in_thread=False)
    reply = await queue(channel, nyc, "Yes, we are open", now, Source.INBOX)

    await deliver_due(delivery(http, now), now)

    held = await reload(campaign)
    assert held.status is OutboundStatus.QUEUED and held.not_before == datetime(2026, 5, 20, 13, 0, tzinfo=UTC)
    assert (await reload(reply)).status is OutboundStatus.SENT and route.call_count == 1
    morning = datetime(2026, 5, 20, 13, 0, tzinfo=UTC)
    await deliver_due(delivery(http, morning), morning)
    assert (await reload(campaign)).status is OutboundStatus.SENT and route.call_count == 2
    shown = await Message.find_one(Message.outbound_id == campaign.id)
    assert shown is not None and shown.conversation_id == nyc.conversation_id  # found by contact and channel


@respx.mock
async def test_the_frequency_cap_cancels_marketing_beyond_three_a_day(
    database: Database, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    mia = await person(channel, "777", now)
    rows = [await queue(channel, mia, f"Offer {n}", now, Source.CAMPAIGN) for n in range(4)]

    await deliver_due(delivery(http, now), now)
    later = now + timedelta(hours=1)
    rows.append(await queue(channel, mia, "Offer 4", later, Source.CAMPAIGN))
    await deliver_due(delivery(http, later), later)

    statuses = [(await reload(row)).status for row in rows]
    assert statuses.count(OutboundStatus.SENT) == 3 and statuses.count(OutboundStatus.CANCELLED) == 2
    assert route.call_count == 3
    assert (await reload(rows[4])).error.startswith("frequency cap")

"""微信客服 end to end: an encrypted `kf_msg_or_event` callback in through the ingress, the worker reads the messages
with kf/sync_msg, they show in the API, a reply leaves through the outbox once, and repeats add nothing.

Only WeCom's side of HTTP is faked (`wecom_server`); the ingress, MongoDB, the pipeline and delivery are real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.db import Database
from scrm.delivery import deliver_due
from scrm.models import (
    Contact,
    Conversation,
    Direction,
    Message,
    OutboundMessage,
    OutboundStatus,
    RawEvent,
    RawEventStatus,
    SyncCursor,
)
from scrm.settings import Settings
from scrm.sync import PipelineContext, drain_raw_events
from scrm.worker import pipeline_context
from tests.connectors.memory import FakeClock
from tests.delivery_fixtures import delivery
from tests.platform_fakes import WECOM_CREDENTIALS, api_headers, make_channel, wecom_delivery
from tests.platform_fakes import TestChannel as StoredChannel
from tests.story_fixtures import mounted

from .wecom_server import ServerCrashed, WeComServer

ACCOUNT = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
CUSTOMER = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"


class Moment:
    """The worker's clock: real time, moved on by the test when a lease must run out."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def server() -> Iterator[WeComServer]:
    fake = WeComServer(corp_id=WECOM_CREDENTIALS["corp_id"], secret=WECOM_CREDENTIALS["secret"], page_size=2)
    with mounted(fake):
        yield fake


@pytest.fixture
def moment() -> Moment:
    return Moment()


@pytest.fixture
def context(settings: Settings, http: httpx.AsyncClient, moment: Moment) -> PipelineContext:
    """The worker's pipeline with its client and buckets, as `running_worker` has it; retries wait on a fake clock."""
    worker = pipeline_context(settings, moment)
    return replace(worker, http=http, buckets=ChannelBuckets(SystemClock()), clock=FakeClock())


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("wecom", WECOM_CREDENTIALS)


def signal(token: str, open_kfid: str = ACCOUNT) -> str:
    """The decrypted `kf_msg_or_event` callback (document/path/94670 回调事件)."""
    return (
        f"<xml><ToUserName><![CDATA[{WECOM_CREDENTIALS['corp_id']}]]></ToUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{token}]]></Token>"
        f"<OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
    )


async def post_signal(client: httpx.AsyncClient, channel: StoredChannel, token: str) -> httpx.Response:
    body, query = wecom_delivery(signal(token))
    return await client.post(f"/webhooks/wecom/{channel.id}", content=body, params=query)


async def drain(context: PipelineContext) -> int:
    total = 0
    while claimed := await drain_raw_events(context):
        total += claimed
    return total


async def test_a_callback_is_pulled_by_the_worker_shown_in_the_api_and_answered_once(
    client: httpx.AsyncClient, channel: StoredChannel, server: WeComServer, context: PipelineContext,
    http: httpx.AsyncClient,
) -> None:  # fmt: skip
    wrote = int(time.time()) - 600
    for offset, text in enumerate(["你好", "请问还有货吗？", "在吗"]):
        server.customer_writes(ACCOUNT, CUSTOMER, text, wrote + offset)
    server.servicer_replies(ACCOUNT, CUSTOMER, "稍等", wrote + 5)  # answered in the WeCom client: not ours to record
    token = server.signal_token(ACCOUNT)

    response = await post_signal(client, channel, token)
    assert response.status_code == 200 and response.text == ""
    assert server.sync_calls == []  # the webhook only stored the signal: the worker reads the messages
    assert await drain(context) == 1

    assert server.sync_calls == [
        {"limit": 1000, "token": token, "open_kfid": ACCOUNT},
        {"limit": 1000, "token": token, "open_kfid": ACCOUNT, "cursor": "C0002"},
    ]
    [cursor] = await SyncCursor.find_all().to_list()
    assert cursor.stream == f"kf_messages:{ACCOUNT}" and str(cursor.value).endswith(":C0004")
    [raw] = await RawEvent.find_all().to_list()
    assert raw.status == RawEventStatus.PROCESSED and raw.event_id == f"kf:{token}"

    headers = await api_headers(channel.workspace_id)
    listed = (await client.get("/api/v1/messages", params={"channel_id": str(channel.id)}, headers=headers)).json()
    assert sorted(item["text"] for item in listed["items"]) == sorted(["你好", "请问还有货吗？", "在吗"])
    assert {item["direction"] for item in listed["items"]} == {"inbound"}
    [contact] = await Contact.find_all().to_list()  # the customer only: the account's signal makes no contact
    assert [identity.key for identity in contact.identities] == [f"wecom:{CUSTOMER}"]
    [conversation] = await Conversation.find_all().to_list()
    assert conversation.external_id == f"{ACCOUNT}:{CUSTOMER}" and conversation.contact_id == contact.id

    reply = {"text": "有的，今天发货", "idempotency_key": "kf-reply-0001"}
    queued = await client.post(f"/api/v1/conversations/{conversation.id}/replies", json=reply, headers=headers)
    assert queued.status_code == 201, queued.text
    again = await client.post(f"/api/v1/conversations/{conversation.id}/replies", json=reply, headers=headers)
    assert again.json()["id"] == queued.json()["id"]
    now = datetime.now(UTC)
    assert await deliver_due(delivery(http, now), now) == 1
    assert await deliver_due(delivery(http, now), now) == 0
    [sent] = server.sent
    assert (sent["touser"], sent["open_kfid"], sent["msgtype"], sent["text"]) == (
        CUSTOMER,
        ACCOUNT,
        "text",
        {"content": "有的，今天发货"},
    )
    [row] = await OutboundMessage.find_all().to_list()
    assert row.status is OutboundStatus.SENT
    outbound = await Message.find_one(Message.outbound_id == row.id)
    assert outbound is not None and outbound.direction == Direction.OUTBOUND and outbound.external_id == sent["msgid"]

    # WeCom retries the same callback (encrypted afresh): stored once, nothing read again
    assert (await post_signal(client, channel, token)).status_code == 200
    assert await RawEvent.count() == 1 and await drain(context) == 0
    # a new signal with nothing new: read on from the saved cursor, nothing recorded twice
    assert (await post_signal(client, channel, server.signal_token(ACCOUNT))).status_code == 200
    assert await drain(context) == 1
    assert server.sync_calls[-1]["cursor"] == "C0004"
    assert await Message.find(Message.direction == Direction.INBOUND).count() == 3
    # the customer writes again: the next signal brings exactly that message
    server.customer_writes(ACCOUNT, CUSTOMER, "谢谢", wrote + 60)
    assert (await post_signal(client, channel, server.signal_token(ACCOUNT))).status_code == 200
    assert await drain(context) == 1
    inbound = await Message.find(Message.direction == Direction.INBOUND).to_list()
    assert sorted(m.text for m in inbound) == sorted(["你好", "请问还有货吗？", "在吗", "谢谢"])
    assert len(server.sent) == 1


async def test_a_crash_mid_pull_leaves_the_signal_pending_and_the_retry_resumes_from_the_cursor(
    client: httpx.AsyncClient, channel: StoredChannel, server: WeComServer, context: PipelineContext, moment: Moment
) -> None:
    wrote = int(time.time()) - 600
    for number in range(5):
        server.customer_writes(ACCOUNT, CUSTOMER, f"消息{number}", wrote + number)
    server.crash_after_pages = 1
    assert (await post_signal(client, channel, server.signal_token(ACCOUNT))).status_code == 200

    with pytest.raises(ServerCrashed):
        await drain(context)
    assert await Message.count() == 2  # the first page was recorded, and its cursor saved, before the second call
    [cursor] = await SyncCursor.find_all().to_list()
    assert str(cursor.value).endswith(":C0002")
    [raw] = await RawEvent.find_all().to_list()
    assert raw.status == RawEventStatus.PROCESSING  # not done: its lease runs out and a worker takes it again

    moment.offset = timedelta(minutes=2)
    assert await drain(context) == 1
    assert [call.get("cursor") for call in server.sync_calls] == [None, "C0002", "C0002", "C0004"]
    texts = sorted([m.text async for m in Message.find_all()])
    assert texts == [f"消息{number}" for number in range(5)]
    [raw] = await RawEvent.find_all().to_list()
    assert raw.status == RawEventStatus.PROCESSED


async def test_a_failed_pull_keeps_the_signal_for_a_retry(
    client: httpx.AsyncClient, channel: StoredChannel, server: WeComServer, context: PipelineContext, moment: Moment
) -> None:
    server.customer_writes(ACCOUNT, CUSTOMER, "你好", int(time.time()) - 60)
    server.throttle = [45009] * 4  # more refusals than one pull retries
    assert (await post_signal(client, channel, server.signal_token(ACCOUNT))).status_code == 200
    assert await drain(context) == 1
    [raw] = await RawEvent.find_all().to_list()
    assert raw.status == RawEventStatus.PENDING and "rate limited" in raw.error
    assert await Message.count() == 0

    moment.offset = timedelta(minutes=1)  # past the raw event's back-off
    assert await drain(context) == 1
    [message] = await Message.find_all().to_list()
    assert message.text == "你好"
    [raw] = await RawEvent.find_all().to_list()
    assert raw.status == RawEventStatus.PROCESSED

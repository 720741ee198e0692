"""Official Account customer-service messages through the outbox: sent once inside the 48-hour window, refused with a
reason outside it (never retried), and the account's setup errors shown as channel health in the API.

Only the platform is faked (`wechat_server`); MongoDB, the outbox, delivery and the connector are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from scrm.connectors.wechat.connector import seconds_to_quota_renewal
from scrm.db import Database
from scrm.delivery import deliver_due
from scrm.models import Channel, ChannelStatus, Direction, Message, OutboundStatus, Workspace
from tests.delivery_fixtures import delivery, person, queue, reload
from tests.platform_fakes import WECHAT_CREDENTIALS, api_headers, make_channel
from tests.platform_fakes import TestChannel as StoredChannel
from tests.story_fixtures import mounted
from tests.web.test_pages import signed_in_demo_owner

from .wechat_server import OfficialAccountServer

OPENID = "oUser_wang_0001"


@pytest.fixture
def account(now: datetime) -> Iterator[OfficialAccountServer]:
    server = OfficialAccountServer(WECHAT_CREDENTIALS["app_id"], WECHAT_CREDENTIALS["app_secret"], now.timestamp())
    with mounted(server):
        yield server


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("wechat", WECHAT_CREDENTIALS)


async def rounds(http: httpx.AsyncClient, now: datetime, count: int = 3) -> None:
    """Run delivery a few times, as the worker's loop would."""
    for _ in range(count):
        await deliver_due(delivery(http, now), now)


async def test_a_reply_inside_the_window_reaches_the_user_once(
    account: OfficialAccountServer, channel: StoredChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    wrote = now - timedelta(hours=3)
    account.user_writes(OPENID, wrote.timestamp())
    wang = await person(channel, OPENID, wrote)
    row = await queue(channel, wang, "您的订单已发货", now)
    await rounds(http, now)
    assert [(s["touser"], s["msgtype"], s["text"]) for s in account.sent] == [
        (OPENID, "text", {"content": "您的订单已发货"})
    ]
    sent = await reload(row)
    assert sent.status is OutboundStatus.SENT and sent.attempts == 1
    message = await Message.find_one(Message.outbound_id == row.id)
    assert message is not None and message.direction == Direction.OUTBOUND and message.text == "您的订单已发货"
    assert account.issued == ["TOKEN1"]


async def test_the_platform_closing_the_window_fails_the_message_with_the_reason_and_no_retry(
    account: OfficialAccountServer, channel: StoredChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    account.user_writes(OPENID, (now - timedelta(hours=49)).timestamp())  # the platform's record is older
    wang = await person(channel, OPENID, now - timedelta(hours=47))  # ours says inside: the platform judges
    row = await queue(channel, wang, "还在吗？", now)
    await rounds(http, now)
    failed = await reload(row)
    assert failed.status is OutboundStatus.FAILED and failed.attempts == 1
    assert "48-hour" in failed.error and "45015" in failed.error
    assert account.sent == []
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.ACTIVE  # one closed window: the channel is fine


async def test_outside_our_window_the_message_fails_before_any_call(
    account: OfficialAccountServer, channel: StoredChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    wang = await person(channel, OPENID, now - timedelta(hours=49))
    row = await queue(channel, wang, "还在吗？", now)
    await rounds(http, now)
    failed = await reload(row)
    assert failed.status is OutboundStatus.FAILED and "WeChat's 48-hour customer-service window" in failed.error
    assert account.issued == []  # not even a token was fetched


async def test_the_sixth_message_in_a_window_is_refused_by_our_count_before_any_call(
    account: OfficialAccountServer, channel: StoredChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    account.user_writes(OPENID, (now - timedelta(hours=1)).timestamp())
    wang = await person(channel, OPENID, now - timedelta(hours=1))
    rows = [await queue(channel, wang, f"第{number}条", now) for number in range(5)]
    await rounds(http, now)
    sixth = await queue(channel, wang, "第6条", now, in_thread=False)  # queued by another path than a reply
    await rounds(http, now)
    assert [(await reload(row)).status for row in rows] == [OutboundStatus.SENT] * 5
    refused = await reload(sixth)
    assert refused.status is OutboundStatus.FAILED and refused.attempts == 0
    assert "5 messages" in refused.error and "45047" not in refused.error
    assert len(account.sent) == 5  # the sixth never reached the platform


async def test_the_platforms_own_count_limit_still_fails_the_message(
    account: OfficialAccountServer, channel: StoredChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    account.user_writes(OPENID, (now - timedelta(hours=1)).timestamp())
    for number in range(3):  # sent from another system on the same account: the platform counts them, we cannot
        elsewhere = {"touser": OPENID, "msgtype": "text", "text": {"content": f"{number}"}}
        account.sent.append({**elsewhere, "at": account.clock})
    wang = await person(channel, OPENID, now - timedelta(hours=1))
    rows = [await queue(channel, wang, f"第{number}条", now) for number in range(3)]
    await rounds(http, now)
    statuses = [(await reload(row)).status for row in rows]
    assert statuses.count(OutboundStatus.SENT) == 2 and statuses.count(OutboundStatus.FAILED) == 1
    [refused] = [await reload(row) for row in rows if (await reload(row)).status is OutboundStatus.FAILED]
    assert "limit" in refused.error and "45047" in refused.error
    assert len(account.sent) == 5


async def test_an_expired_token_is_replaced_once_and_the_message_sent(
    account: OfficialAccountServer, channel: StoredChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    account.user_writes(OPENID, (now - timedelta(hours=1)).timestamp())
    wang = await person(channel, OPENID, now - timedelta(hours=1))
    first = await queue(channel, wang, "第一条", now)
    await rounds(http, now, 1)
    account.issued.append("ISSUED-ELSEWHERE")  # our stored token is no longer the newest: 42001
    second = await queue(channel, wang, "第二条", now)
    await rounds(http, now, 1)
    assert (await reload(first)).status is OutboundStatus.SENT and (await reload(second)).status is OutboundStatus.SENT
    assert account.issued == ["TOKEN1", "ISSUED-ELSEWHERE", "TOKEN3"]
    assert [s["text"]["content"] for s in account.sent] == ["第一条", "第二条"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("whitelist", ["IP 203.0.113.7", "IP白名单", "errcode 40164"]),
        ("secret", ["AppSecret", "errcode 40001"]),
        ("appid", ["AppID", "errcode 40013"]),
        ("unauthorised", ["not authorised", "errcode 48001"]),
    ],
)
async def test_setup_errors_show_on_the_channel_with_what_to_fix_and_the_message_waits(
    account: OfficialAccountServer,
    channel: StoredChannel,
    http: httpx.AsyncClient,
    now: datetime,
    client: httpx.AsyncClient,
    setup: str,
    expected: list[str],
) -> None:
    account.user_writes(OPENID, (now - timedelta(hours=1)).timestamp())
    wang = await person(channel, OPENID, now - timedelta(hours=1))
    if setup == "whitelist":
        account.whitelisted = False
    elif setup == "secret":
        account.app_secret = "reset-in-the-console"
    elif setup == "appid":
        account.app_id = "wx0000000000000000"
    else:
        account.refuse = [48001]
    row = await queue(channel, wang, "您好", now)
    await rounds(http, now)

    waiting = await reload(row)
    assert waiting.status is OutboundStatus.QUEUED and account.sent == []  # held, not lost, while the channel is down
    headers = await api_headers(channel.workspace_id)
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy"
    assert shown["status_reason"].startswith("wechat: ")
    for words in expected:
        assert words in shown["status_reason"]


async def test_the_daily_quota_holds_replies_until_midnight_beijing_time_and_the_channel_stays_active(
    account: OfficialAccountServer,
    channel: StoredChannel,
    http: httpx.AsyncClient,
    now: datetime,
    client: httpx.AsyncClient,
) -> None:
    account.user_writes(OPENID, (now - timedelta(hours=1)).timestamp())
    wang = await person(channel, OPENID, now - timedelta(hours=1))
    account.refuse = [45009]  # "reach max api daily quota limit": no point in retrying before it renews
    row = await queue(channel, wang, "您好", now)
    asked = datetime.now(UTC)
    await rounds(http, now, 1)

    waiting = await reload(row)
    assert waiting.status is OutboundStatus.QUEUED and account.sent == []
    # Held until the renewal: the API client reads the wall clock, so the wait is the time from the real now
    # to the next midnight in Beijing (the exact instant is tested in test_connector.py); either side of the
    # call, in case a midnight falls in between.
    assert waiting.not_before is not None
    held = waiting.not_before.replace(tzinfo=UTC) - now
    renewals = [timedelta(seconds=seconds_to_quota_renewal(at)) for at in (asked, datetime.now(UTC))]
    assert any(abs(held - renewal) < timedelta(minutes=1) for renewal in renewals), (held, renewals)
    assert timedelta(0) < held <= timedelta(days=1)
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=await api_headers(channel.workspace_id))).json()
    assert shown["status"] == "active"

    await rounds(http, now + held, 1)  # the quota has renewed
    assert (await reload(row)).status is OutboundStatus.SENT
    assert [s["text"]["content"] for s in account.sent] == ["您好"]


async def test_the_overview_shows_why_the_channel_needs_attention(
    account: OfficialAccountServer, client: httpx.AsyncClient, database: Database, now: datetime
) -> None:
    await signed_in_demo_owner(client, now)
    [workspace] = await Workspace.find_all().to_list()
    assert workspace.id is not None
    channel = await make_channel("wechat", WECHAT_CREDENTIALS, workspace=workspace.name)
    account.user_writes(OPENID, (now - timedelta(hours=1)).timestamp())
    account.whitelisted = False
    wang = await person(channel, OPENID, now - timedelta(hours=1))
    await queue(channel, wang, "您好", now)
    async with httpx.AsyncClient() as http:
        await rounds(http, now, 1)
    page = await client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert '<div class="status-reason">wechat: this server&#39;s IP 203.0.113.7 is not in' in page.text

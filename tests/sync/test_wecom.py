"""Pulling a WeCom corp's external contacts (客户联系): paging by next_cursor, rate limits, tokens, a reset secret."""

from __future__ import annotations

import httpx
import pytest
import respx

from scrm.connectors.ratelimit import ChannelBuckets
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Contact, Follow, FollowKind
from scrm.sync import PipelineContext, poll
from tests.connectors.wecom.wecom_server import WeComServer
from tests.platform_fakes import WECOM_CREDENTIALS, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .conftest import Puller
from .fakes import RecordingObserver

ADDED_AT = 1767258000


@pytest.fixture
def corp(platform: respx.MockRouter) -> WeComServer:
    fake = WeComServer(corp_id=WECOM_CREDENTIALS["corp_id"], secret=WECOM_CREDENTIALS["secret"])
    for number in range(150):  # zhangsan looks after 120 customers, lisi after 30
        member = "zhangsan" if number < 120 else "lisi"
        fake.add_external_contact(member, f"wmCustomer{number:04d}", f"客户{number}", ADDED_AT + number)
    fake.mount(platform)
    return fake


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("wecom", WECOM_CREDENTIALS)


async def test_a_backfill_pages_by_next_cursor_and_records_every_contact_once(
    corp: WeComServer, channel: StoredChannel, pull: Puller
) -> None:
    result = await pull()
    [stream] = result.streams  # messages are not scheduled: a 微信客服 callback asks for them
    assert (stream.stream, stream.pulled, stream.new, stream.failed) == ("external_contacts", 150, 150, "")
    asked = [(call["userid_list"], call["cursor"], call["limit"]) for call in corp.contact_calls]
    assert asked == [(["lisi", "zhangsan"], "", 100), (["lisi", "zhangsan"], "R100", 100)]
    assert await Follow.find(Follow.channel_id == channel.id, Follow.kind == FollowKind.FOLLOW).count() == 150
    contact = await Contact.find_one({"identities.key": "wecom:wmCustomer0007"})
    assert contact is not None and contact.name == "客户7"
    assert corp.issued == ["TOKEN1"]


async def test_pulling_again_records_nothing_twice_and_picks_up_new_contacts(corp: WeComServer, pull: Puller) -> None:
    await pull()
    again = await pull()
    assert (again.streams[0].pulled, again.streams[0].new) == (150, 0)
    corp.add_external_contact("lisi", "wmCustomer9999", "新客户", ADDED_AT + 999)
    third = await pull()
    assert (third.streams[0].pulled, third.streams[0].new) == (151, 1)
    assert await Follow.count() == 151 and await Contact.count() == 151


async def test_frequency_and_concurrency_limits_slow_the_pull_down_without_losing_anything(
    corp: WeComServer, pull: Puller
) -> None:
    corp.throttle = [45009, 45033]  # 接口调用超过限制, then 接口并发调用超过限制
    observer = RecordingObserver()
    result = await pull(observer)
    assert (result.streams[0].pulled, result.streams[0].failed) == (150, "")
    assert len(observer.waits) == 2  # one back-off per refusal, then the same call again
    assert await Follow.count() == 150


async def test_an_expired_token_is_replaced_once_and_the_pull_goes_on(
    corp: WeComServer, channel: StoredChannel, pull: Puller
) -> None:
    await pull()
    corp.token_expired = True  # the next call answers 42001 (access_token已过期)
    result = await pull()
    assert (result.streams[0].pulled, result.unhealthy) == (150, "")
    assert corp.issued == ["TOKEN1", "TOKEN2"]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.ACTIVE


async def test_a_reset_secret_marks_the_channel_unhealthy_and_a_repaired_channel_backfills_without_duplicates(
    corp: WeComServer,
    channel: StoredChannel,
    pull: Puller,
    context: PipelineContext,
    http: httpx.AsyncClient,
    buckets: ChannelBuckets,
) -> None:
    await pull()
    corp.secret_reset, corp.token_expired = True, True  # 42001, and gettoken then answers 40001
    result = await pull()
    assert "secret" in result.unhealthy and "errcode 40001" in result.unhealthy
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.UNHEALTHY
    assert stored.status_reason == result.unhealthy
    assert await poll(context, http, buckets=buckets) == []  # the scheduler leaves it until someone repairs it

    corp.secret_reset = False  # the admin pasted the new secret: the channel is active again
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel.id}, {"$set": {"status": ChannelStatus.ACTIVE.value, "status_reason": ""}}
    )
    again = await pull()
    assert (again.streams[0].pulled, again.streams[0].new, again.unhealthy) == (150, 0, "")
    assert await Follow.count() == 150 and await Contact.count() == 150

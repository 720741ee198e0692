"""Pulling a WeChat Official Account's followers: paging by next_openid, profiles, tokens, crashes, revoked keys."""

from __future__ import annotations

import httpx
import pytest
import respx

from scrm.connectors.ratelimit import ChannelBuckets
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Contact, Follow, SyncCursor
from scrm.sync import PipelineContext, poll
from tests.platform_fakes import WECHAT_CREDENTIALS, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .conftest import Puller
from .fakes import FakeOfficialAccount, PlatformCrashed


@pytest.fixture
def account(platform: respx.MockRouter) -> FakeOfficialAccount:
    fake = FakeOfficialAccount(page_size=150)
    fake.follow(350)
    fake.mount(platform)
    return fake


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("wechat", WECHAT_CREDENTIALS)


async def test_a_backfill_pages_by_next_openid_and_records_every_follower_once(
    account: FakeOfficialAccount, channel: StoredChannel, pull: Puller
) -> None:
    result = await pull()
    (stream,) = result.streams
    assert (stream.stream, stream.pulled, stream.new, stream.failed) == ("followers", 350, 350, "")
    assert account.next_openids == ["", "oFollower000149", "oFollower000299", "oFollower000349"]
    assert account.profiles_served == 350
    assert account.issued == ["TOKEN1"]
    assert await Follow.find(Follow.channel_id == channel.id).count() == 350
    assert await Contact.count() == 350


async def test_pulling_twice_records_nothing_twice(account: FakeOfficialAccount, pull: Puller) -> None:
    await pull()
    again = await pull()
    assert (again.streams[0].pulled, again.streams[0].new) == (350, 0)
    assert await Follow.count() == 350 and await Contact.count() == 350
    assert await SyncCursor.count() == 0  # the follower list has no order to resume from
    account.follow(20)
    third = await pull()
    assert (third.streams[0].pulled, third.streams[0].new) == (370, 20)
    assert await Follow.count() == 370


async def test_an_expired_token_is_replaced_once_and_the_pull_goes_on(
    account: FakeOfficialAccount, channel: StoredChannel, pull: Puller
) -> None:
    account.expire_next = True
    result = await pull()
    assert result.streams[0].pulled == 350 and result.unhealthy == ""
    assert account.issued == ["TOKEN1", "EXPIRED", "TOKEN2"]  # two tokens fetched: the first, then one refresh
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.ACTIVE


async def test_a_crash_mid_pull_then_a_rerun_ends_with_exactly_every_follower(
    account: FakeOfficialAccount, pull: Puller
) -> None:
    account.crash_after = 200
    with pytest.raises(PlatformCrashed):
        await pull()
    assert await Follow.count() == 150  # the first page was recorded before the second was asked for
    result = await pull()
    assert (result.streams[0].pulled, result.streams[0].new) == (350, 200)
    openids = {follow.external_id.split(":")[0] async for follow in Follow.find_all()}
    assert openids == set(account.openids)
    assert await Follow.count() == 350


async def test_revoked_credentials_mark_the_channel_unhealthy_with_the_reason(
    account: FakeOfficialAccount,
    channel: StoredChannel,
    pull: Puller,
    context: PipelineContext,
    http: httpx.AsyncClient,
    buckets: ChannelBuckets,
) -> None:
    account.revoked = True
    result = await pull()
    assert result.unhealthy.startswith("wechat:") and "40001" in result.unhealthy
    assert result.streams[0].failed == result.unhealthy
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.UNHEALTHY
    assert stored.status_reason == result.unhealthy and stored.status_changed_at is not None
    assert await Follow.count() == 0
    assert await poll(context, http, buckets=buckets) == []  # the scheduler leaves it until someone repairs it

"""The scheduler's pulls: each channel on its interval, claimed with a lease so that one worker pulls it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
import respx

from scrm.connectors.ratelimit import ChannelBuckets
from scrm.db import Database
from scrm.models import Channel, Message
from scrm.pull_schedule import LEASE, claim_channel, claim_due, pull_interval
from scrm.sync import ChannelBusy, PipelineContext, poll, sync_now
from scrm.worker import Shared, background_jobs
from tests.connectors.memory import FakeClock
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .fakes import FIRST_UPDATE, FakeBotApi


@pytest.fixture
def bot(platform: respx.MockRouter) -> FakeBotApi:
    fake = FakeBotApi()
    fake.add(30)
    fake.mount(platform)
    return fake


async def telegram_channel(config: dict[str, object] | None = None) -> StoredChannel:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    if config is not None:
        await Channel.get_pymongo_collection().update_one({"_id": channel.id}, {"$set": {"config": config}})
    return channel


async def stored(channel: StoredChannel) -> Channel:
    found = await Channel.get(channel.id)
    assert found is not None
    return found


async def test_two_workers_polling_at_once_pull_a_channel_once(
    bot: FakeBotApi, database: Database, context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets
) -> None:
    await telegram_channel()
    first, second = await asyncio.gather(poll(context, http, buckets=buckets), poll(context, http, buckets=buckets))
    assert len(first) + len(second) == 1
    assert bot.offsets == [None, FIRST_UPDATE + 30]  # the calls of one pull, not two
    assert await Message.count() == 30


async def test_concurrent_claims_give_one_lease_and_a_dead_holders_lease_runs_out(
    database: Database, clock: FakeClock
) -> None:
    channel = await telegram_channel()
    claims = await asyncio.gather(*(claim_due(clock.now(), ["telegram"]) for _ in range(10)))
    leases = [lease for lease in claims if lease is not None]
    assert len(leases) == 1 and leases[0].channel_id == channel.id
    clock.advance(LEASE.total_seconds() - 1)
    assert await claim_due(clock.now(), ["telegram"]) is None
    clock.advance(2)  # the holder never came back
    assert await claim_due(clock.now(), ["telegram"]) is not None


async def test_a_pulled_channel_is_due_again_after_its_platforms_interval(
    bot: FakeBotApi, database: Database, context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets,
    clock: FakeClock,
) -> None:  # fmt: skip
    channel = await telegram_channel()
    assert len(await poll(context, http, buckets=buckets)) == 1
    after = await stored(channel)
    assert after.sync_due_at == clock.now() + timedelta(minutes=5) and after.synced_at == clock.now()
    assert after.sync_lease_until is None and after.sync_problem == ""
    assert await poll(context, http, buckets=buckets) == []
    clock.advance(5 * 60)
    bot.add(2)
    (again,) = await poll(context, http, buckets=buckets)
    assert (again.streams[0].pulled, again.streams[0].new) == (2, 2)


async def test_a_channels_own_interval_overrides_its_platforms_and_zero_turns_pulls_off(
    bot: FakeBotApi, database: Database, context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets,
    clock: FakeClock,
) -> None:  # fmt: skip
    every_minute = await telegram_channel({"sync_interval_seconds": 60})
    await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace="other")
    off = await Channel.find_one(Channel.name == "telegram other")
    assert off is not None
    await Channel.get_pymongo_collection().update_one({"_id": off.id}, {"$set": {"config.sync_interval_seconds": 0}})
    results = await poll(context, http, buckets=buckets)
    assert [r.channel_id for r in results] == [str(every_minute.id)]
    assert (await stored(every_minute)).sync_due_at == clock.now() + timedelta(seconds=60)
    assert (
        pull_interval("wechat", {}) == timedelta(hours=6)
        and pull_interval("telegram", {"sync_interval_seconds": 0}) is None
    )


async def test_a_pull_by_hand_waits_for_the_worker_holding_the_channel(
    database: Database, context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets, clock: FakeClock
) -> None:
    channel = await telegram_channel()
    assert await claim_channel(channel.id, channel.workspace_id, clock.now()) is not None
    with pytest.raises(ChannelBusy):
        await sync_now(context, http, str(channel.id), buckets=buckets)


def test_the_worker_runs_the_pull_job_when_it_has_shared_resources(
    context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets
) -> None:
    shared = Shared(pipeline=context, http=http, buckets=buckets)
    names = [job.name for job in background_jobs("worker", lambda: FakeClock().now(), shared)]
    assert names == ["heartbeat", "wake_snoozed", "assign_waiting", "pull_sync", "check_credentials"]
    assert [job.name for job in background_jobs("worker", lambda: FakeClock().now())] == [
        "heartbeat",
        "wake_snoozed",
        "assign_waiting",
    ]


async def test_a_channel_whose_pull_crashes_is_released_with_the_reason_and_the_others_still_pull(
    bot: FakeBotApi, database: Database, context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets
) -> None:
    first = await telegram_channel()
    second = await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace="other")
    bot.crash_after = 0  # the first pull's first call dies
    results = await poll(context, http, buckets=buckets)
    assert len(results) == 1 and results[0].streams[0].new == 30
    channels = [await stored(first), await stored(second)]
    assert sorted(bool(c.sync_problem) for c in channels) == [False, True]
    crashed = next(c for c in channels if c.sync_problem)
    assert "PlatformCrashed" in crashed.sync_problem
    assert all(c.sync_lease_until is None and c.sync_due_at is not None for c in channels)

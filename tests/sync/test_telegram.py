"""Pulling a Telegram bot's updates with getUpdates: backfill, offsets, crashes, rate limits, webhook conflicts."""

from __future__ import annotations

import httpx
import pytest
import respx

from scrm.connectors.ratelimit import ChannelBuckets
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Contact, Message, SyncCursor
from scrm.sync import PipelineContext, sync_now
from tests.connectors.memory import FakeClock
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .conftest import Puller
from .fakes import FIRST_UPDATE, FakeBotApi, PlatformCrashed, RecordingObserver


@pytest.fixture
def bot(platform: respx.MockRouter) -> FakeBotApi:
    fake = FakeBotApi()
    fake.mount(platform)
    return fake


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("telegram", TELEGRAM_CREDENTIALS)


async def saved_offset(channel: StoredChannel) -> int | str | None:
    cursor = await SyncCursor.find_one({"channel_id": channel.id, "stream": "updates"})
    return None if cursor is None else cursor.value


async def test_a_backfill_records_every_update_once_and_saves_the_last_update_id(
    bot: FakeBotApi, channel: StoredChannel, pull: Puller
) -> None:
    bot.add(250)
    result = await pull()
    (stream,) = result.streams
    assert (stream.stream, stream.pulled, stream.new, stream.failed) == ("updates", 250, 250, "")
    assert await Message.find(Message.channel_id == channel.id).count() == 250
    assert await Contact.count() == 7
    assert await saved_offset(channel) == FIRST_UPDATE + 249
    assert bot.offsets == [None, FIRST_UPDATE + 100, FIRST_UPDATE + 200, FIRST_UPDATE + 250]


async def test_a_second_pull_asks_only_for_updates_after_the_saved_one(bot: FakeBotApi, pull: Puller) -> None:
    bot.add(250)
    await pull()
    bot.offsets.clear()
    again = await pull()
    assert (again.streams[0].pulled, again.streams[0].new) == (0, 0)
    assert bot.offsets == [FIRST_UPDATE + 249]
    bot.add(5)
    third = await pull()
    assert (third.streams[0].pulled, third.streams[0].new) == (5, 5)
    assert bot.offsets[1:] == [FIRST_UPDATE + 249, FIRST_UPDATE + 255]
    assert await Message.count() == 255


async def test_a_crash_mid_pull_then_a_rerun_ends_with_exactly_every_update(
    bot: FakeBotApi, channel: StoredChannel, pull: Puller
) -> None:
    """Asking for the next page confirms the last one at Telegram: it must be recorded before that call."""
    bot.add(250)
    bot.crash_after = 150
    with pytest.raises(PlatformCrashed):
        await pull()
    assert await Message.count() == 100
    assert await saved_offset(channel) == FIRST_UPDATE + 99
    result = await pull()
    assert (result.streams[0].pulled, result.streams[0].new) == (150, 150)
    texts = {message.text async for message in Message.find_all()}
    assert texts == {f"message {FIRST_UPDATE + i}" for i in range(250)}
    assert await Message.count() == 250


async def test_telegrams_retry_after_is_waited_out_and_reported(
    bot: FakeBotApi, clock: FakeClock, pull: Puller
) -> None:
    bot.add(10)
    bot.throttle = 3
    observer = RecordingObserver()
    result = await pull(observer)
    assert result.streams[0].pulled == 10 and result.streams[0].failed == ""
    assert observer.waits == [3]
    assert 3 in clock.sleeps
    assert observer.counts == {"updates": 10}


async def test_a_webhook_on_the_bot_skips_the_pull_with_what_to_do(
    bot: FakeBotApi, channel: StoredChannel, context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets
) -> None:
    bot.add(3)
    bot.webhook_set = True
    result = await sync_now(context, http, str(channel.id), buckets=buckets)
    (stream,) = result.streams
    assert "webhook" in stream.skipped and "deleteWebhook" in stream.skipped
    assert result.unhealthy == "" and await Message.count() == 0
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.ACTIVE
    assert "deleteWebhook" in stored.sync_problem and stored.synced_at is not None


async def test_full_ignores_the_saved_offset(bot: FakeBotApi, channel: StoredChannel, pull: Puller) -> None:
    bot.add(20)
    await pull()
    bot.offsets.clear()
    await pull(full=True)
    assert bot.offsets[0] is None
    assert await Message.count() == 20

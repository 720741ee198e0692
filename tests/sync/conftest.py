"""Fixtures for pull sync: the worker's pipeline context on the test database, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import respx

from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.db import Database
from scrm.pulling import SyncObserver, SyncResult
from scrm.settings import Settings
from scrm.sync import PipelineContext, sync_channel
from scrm.worker import pipeline_context
from tests.connectors.memory import FakeClock
from tests.platform_fakes import TestChannel


@pytest.fixture
def clock() -> FakeClock:
    """Time for the pipeline, the tokens and the waits: it moves only when something sleeps or the test says."""
    return FakeClock()


@pytest.fixture
def context(settings: Settings, database: Database, clock: FakeClock) -> PipelineContext:
    """What the worker's pipeline uses, on the test database, reading the fake clock."""
    return pipeline_context(settings, clock.now)


@pytest.fixture
def buckets() -> ChannelBuckets:
    """The process's token buckets, on the real clock.

    A bucket on the fake clock can stall: it sleeps `(1 - tokens) / rate`, and once that is below the float
    resolution of the fake clock's elapsed time, the sleep no longer moves the clock. Real time always moves.
    """
    return ChannelBuckets(SystemClock())


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One shared client, as the worker has."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def platform() -> Iterator[respx.MockRouter]:
    """The platforms' side of HTTP; any call to an address no fake answers fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@dataclass(frozen=True)
class Puller:
    """Pulls one channel the way `scrm sync` does, with the test's clock, client and buckets."""

    context: PipelineContext
    http: httpx.AsyncClient
    buckets: ChannelBuckets
    clock: FakeClock
    channel_id: str

    async def __call__(self, observer: SyncObserver | None = None, full: bool = False) -> SyncResult:
        """Pull every stream of the channel once."""
        return await sync_channel(
            self.context,
            self.http,
            self.channel_id,
            buckets=self.buckets,
            clock=self.clock,
            observer=observer,
            full=full,
        )


@pytest.fixture
def pull(
    context: PipelineContext, http: httpx.AsyncClient, buckets: ChannelBuckets, clock: FakeClock, channel: TestChannel
) -> Puller:
    """The module's ``channel``, pulled as `scrm sync` pulls it."""
    return Puller(context, http, buckets, clock, str(channel.id))

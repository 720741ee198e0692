"""Token buckets pace a channel's calls on an injected clock."""

from __future__ import annotations

from datetime import timedelta

from scrm.connectors.ratelimit import ChannelBuckets, RateLimit, TokenBucket

from .memory import FakeClock


async def test_token_bucket_lets_a_burst_through_then_paces(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2, capacity=2, clock=clock)
    for _ in range(5):
        await bucket.acquire()
    assert clock.sleeps == [0.5, 0.5, 0.5]


async def test_token_bucket_refills_while_idle(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, capacity=1, clock=clock)
    await bucket.acquire()
    clock.advance(1)
    await bucket.acquire()
    assert clock.sleeps == []


def test_each_channel_has_its_own_bucket(clock: FakeClock) -> None:
    buckets = ChannelBuckets(clock)
    limit = RateLimit(calls=1, per=timedelta(seconds=1))
    assert buckets.for_channel("a", limit) is buckets.for_channel("a", limit)
    assert buckets.for_channel("a", limit) is not buckets.for_channel("b", limit)

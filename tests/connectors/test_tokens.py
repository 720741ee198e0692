"""Access tokens: cached, fetched once for all callers, replaced once when the platform refuses one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from scrm.connectors.stores import AccessToken
from scrm.connectors.tokens import AccessTokens

from .memory import FakeClock, InMemoryTokenStore


async def test_concurrent_callers_fetch_one_token(clock: FakeClock) -> None:
    store, fetches = InMemoryTokenStore(), []

    async def fetch() -> AccessToken:
        fetches.append(1)
        await asyncio.sleep(0)
        return AccessToken(f"t{len(fetches)}", clock.now() + timedelta(seconds=7200))

    tokens = AccessTokens(store, clock)
    values = await asyncio.gather(*(tokens.get("app", fetch) for _ in range(10)))
    assert set(values) == {"t1"}
    assert len(fetches) == 1


async def test_a_rejected_token_is_replaced_once(clock: FakeClock) -> None:
    store, fetches = InMemoryTokenStore(), []

    async def fetch() -> AccessToken:
        fetches.append(1)
        return AccessToken(f"t{len(fetches)}", clock.now() + timedelta(seconds=7200))

    tokens = AccessTokens(store, clock)
    first = await tokens.get("app", fetch)
    replaced = await asyncio.gather(*(tokens.refresh("app", first, fetch) for _ in range(5)))
    assert set(replaced) == {"t2"}
    assert len(fetches) == 2


async def test_an_expiring_token_is_fetched_again(clock: FakeClock) -> None:
    store = InMemoryTokenStore()
    await store.save_token("app", AccessToken("old", clock.now() + timedelta(seconds=60)), replaces=None)

    async def fetch() -> AccessToken:
        return AccessToken("new", clock.now() + timedelta(seconds=7200))

    assert await AccessTokens(store, clock).get("app", fetch) == "new"

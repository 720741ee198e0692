"""Access-token lifecycle: one cached token per app, fetched again once for all callers.

Platforms such as WeChat hand out short-lived tokens (``access_token``, 7200 s) and invalidate the previous
token when a new one is fetched, so two processes refreshing at once would lock each other out. Refreshing is
therefore serialised twice: an ``asyncio.Lock`` per key inside this process and the store's lock across
processes, and the store only accepts a new token over the one the caller saw (compare-and-set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from scrm.connectors.ratelimit import Clock
from scrm.connectors.stores import AccessToken, TokenStore

FetchToken = Callable[[], Awaitable[AccessToken]]
"""Asks the platform for a new token."""


class AccessTokens:
    """Hand out a fresh access token per key, fetching a new one once when it expires or is refused."""

    def __init__(self, store: TokenStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, fetch: FetchToken) -> str:
        """Return a token that is fresh now, fetching one if the stored one is missing or about to expire."""
        token = await self._store.find_token(key)
        if token is not None and token.is_fresh(self._clock.now()):
            return token.value
        return await self._renew(key, fetch, stale=token.value if token else None)

    async def refresh(self, key: str, rejected: str, fetch: FetchToken) -> str:
        """Return a replacement for the token the platform just ``rejected``.

        Only the first caller to report a given token fetches; the others receive the token it saved.
        """
        return await self._renew(key, fetch, stale=rejected)

    async def _renew(self, key: str, fetch: FetchToken, stale: str | None) -> str:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock, self._store.refresh_lock(key):
            current = await self._store.find_token(key)
            if current is not None and current.value != stale and current.is_fresh(self._clock.now()):
                return current.value  # another caller refreshed while we waited
            fresh = await fetch()
            if await self._store.save_token(key, fresh, replaces=current.value if current else None):
                return fresh.value
            winner = await self._store.find_token(key)
            return winner.value if winner is not None else fresh.value

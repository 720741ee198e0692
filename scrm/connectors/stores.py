"""What connectors need persisted, as protocols: pull cursors and platform access tokens.

The database-backed implementations live outside this leaf package.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

CursorValue = str | int
"""A position in a stream: an ISO timestamp, a platform id, an update offset."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A platform access token and the moment it stops working."""

    value: str
    expires_at: datetime

    def is_fresh(self, now: datetime, margin_seconds: float = 300) -> bool:
        """Tell whether the token will still work ``margin_seconds`` from ``now``."""
        return (self.expires_at - now).total_seconds() > margin_seconds


class CursorStore(Protocol):
    """Where each (channel, stream) remembers how far it has pulled."""

    async def find_cursor(self, channel_id: str, stream: str) -> CursorValue | None:
        """Return the saved cursor, or None before the first pull."""
        ...

    async def save_cursor(self, channel_id: str, stream: str, value: CursorValue) -> None:
        """Remember ``value`` as the stream's position."""
        ...


class TokenStore(Protocol):
    """Where access tokens are shared between all callers and processes, keyed by the platform's app id."""

    async def find_token(self, key: str) -> AccessToken | None:
        """Return the stored token, fresh or not, or None."""
        ...

    async def save_token(self, key: str, token: AccessToken, *, replaces: str | None) -> bool:
        """Store ``token`` only if the stored token's value is still ``replaces`` (None: no token yet).

        Returns False when another caller saved a token first (compare-and-set); that token then wins.
        """
        ...

    def refresh_lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Return a lock held while one caller fetches a new token for ``key``, across processes."""
        ...

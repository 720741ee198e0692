"""What each platform's webhook module provides: its handshake, its verification and its event id."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from litestar import Response

from scrm.channel_access import ChannelAccess


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST from a platform: the raw body, its headers (lower-case names) and its query parameters."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]


class PlatformHook(Protocol):
    """One platform's side of the ingress. Every method is pure and fast: no I/O, no parsing beyond the id."""

    platform: str
    kept_headers: frozenset[str]
    """Headers stored with the raw event, for audit and replay."""

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """Answer the platform's subscription check (GET); raise an HTTP error when it fails."""
        ...

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """Whether the delivery is authentic, checked exactly as the platform specifies (constant-time)."""
        ...

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """The platform's own id of this delivery; the body's digest when the body cannot be read."""
        ...

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """The answer that tells the platform the delivery was taken."""
        ...


def body_digest(body: bytes) -> str:
    """An event id for a body with no readable id of its own: the same bytes always give the same id."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def plain(text: str, status_code: int = 200) -> Response[str]:
    """A text/plain answer."""
    return Response(content=text, media_type="text/plain", status_code=status_code)

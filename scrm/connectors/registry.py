"""The registered connectors, looked up by platform key."""

from __future__ import annotations

from collections.abc import Iterator

from scrm.connectors.api import GenericApi
from scrm.connectors.base import Connector
from scrm.connectors.errors import UnknownPlatform
from scrm.connectors.line import Line
from scrm.connectors.meta import Meta
from scrm.connectors.ratelimit import Clock
from scrm.connectors.stores import TokenStore
from scrm.connectors.telegram import Telegram
from scrm.connectors.wechat import WeChat
from scrm.connectors.wecom import WeCom
from scrm.connectors.x import X

CONNECTORS: tuple[type[Connector], ...] = (Telegram, WeChat, Line, X, WeCom, Meta, GenericApi)


def iter_connectors(tokens: TokenStore, clock: Clock | None = None) -> Iterator[Connector]:
    """Yield one instance of every registered connector, sharing the given token store and clock."""
    for connector in CONNECTORS:
        yield connector(tokens, clock)


def get_connector(platform: str, tokens: TokenStore, clock: Clock | None = None) -> Connector:
    """Return the connector for ``platform``; raises ``UnknownPlatform`` for a key nobody registered."""
    for connector in CONNECTORS:
        if connector.platform == platform:
            return connector(tokens, clock)
    known = ", ".join(sorted(c.platform for c in CONNECTORS))
    raise UnknownPlatform(f"no connector for platform {platform!r} (known: {known})")

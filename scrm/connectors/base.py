"""The connector contract: what every platform declares and the one method it implements for sending."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import httpx

from scrm.connectors.http import ApiClient, RestStream
from scrm.connectors.items import Inbound
from scrm.connectors.ratelimit import Clock, RateLimit, SystemClock, TokenBucket
from scrm.connectors.stores import TokenStore
from scrm.connectors.tokens import AccessTokens

Credentials = Mapping[str, str]
"""A channel's secrets under the platform's own names (``bot_token``, ``app_id``, ``encoding_aes_key``)."""

ItemT = TypeVar("ItemT")


class Capability(StrEnum):
    """What a connector can do on its platform."""

    MESSAGES = "messages"
    REPLY = "reply"
    POSTS = "posts"
    COMMENTS = "comments"
    FOLLOWS = "follows"
    TEMPLATES = "templates"
    PULL = "pull"


@dataclass(frozen=True, slots=True)
class Reply:
    """One outbound text message to a person or chat on the platform.

    ``to`` is the platform's recipient id (Telegram ``chat_id``, WeChat ``openid``); ``reply_to_id`` is the
    platform message id being answered, when the platform can thread replies.
    """

    to: str
    text: str
    reply_to_id: str = ""


class Connector(ABC):
    """One platform: its declaration (key, capabilities, rate limit, streams), webhook parsing and sending.

    Instances hold only injected dependencies (the access-token store and the clock), so one instance serves
    every channel of its platform; per-channel state arrives as arguments.
    """

    platform: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    rate_limit: ClassVar[RateLimit]
    streams: ClassVar[tuple[type[RestStream[Any]], ...]]
    credential_keys: ClassVar[frozenset[str]]
    """The credential names a channel must have."""

    def __init__(self, tokens: TokenStore, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.tokens = AccessTokens(tokens, self.clock)

    @abstractmethod
    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a client for one channel's calls, with this platform's error signals and authentication."""

    @abstractmethod
    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Turn one verified webhook body into items (decrypting it first where the platform encrypts)."""

    @abstractmethod
    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send one message and return the platform's message id.

        Raises a ``ConnectorError``: ``TemporaryFailure`` means try later, ``RequestRejected`` means give up.
        """

    def open_stream(
        self,
        stream: type[RestStream[ItemT]],
        http: httpx.AsyncClient,
        creds: Credentials,
        bucket: TokenBucket | None = None,
    ) -> RestStream[ItemT]:
        """Return one of this connector's streams, ready to pull for one channel."""
        return stream(self.api(http, creds, bucket), creds)

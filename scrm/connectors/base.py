"""The connector contract: what every platform declares and the one method it implements for sending."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import httpx

from scrm.connectors.errors import AuthRejected, ConnectorError
from scrm.connectors.http import ApiClient, RestStream
from scrm.connectors.items import Inbound, Sender
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


class ReplyKind(StrEnum):
    """Where a reply goes: into the person's conversation, under a public comment, or as a template."""

    MESSAGE = "message"
    """A private message in the conversation ``to`` names."""
    COMMENT = "comment"
    """A public reply under the comment ``to`` names."""
    PRIVATE_REPLY = "private_reply"
    """A private message to whoever wrote the comment ``to`` names (Meta private replies: comment to chat)."""
    TEMPLATE = "template"
    """A pre-approved template, the only kind allowed outside the messaging window (WhatsApp)."""


REPLY_CAPABILITIES: Mapping[ReplyKind, Capability] = {
    ReplyKind.MESSAGE: Capability.REPLY,
    ReplyKind.COMMENT: Capability.COMMENTS,
    ReplyKind.PRIVATE_REPLY: Capability.COMMENTS,
    ReplyKind.TEMPLATE: Capability.TEMPLATES,
}
"""The capability a connector must declare to send each kind of reply."""


@dataclass(frozen=True, slots=True)
class Template:
    """A pre-approved message template by name and language, with its body parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """One outbound text message to a person or chat on the platform.

    ``to`` is the platform's recipient id (Telegram ``chat_id``, WeChat ``openid``); ``reply_to_id`` is the
    platform message id being answered, when the platform can thread replies.
    """

    to: str
    text: str
    reply_to_id: str = ""
    reply_token: str = ""
    """A single-use token the platform gave with the inbound message, for a free reply (LINE ``replyToken``)."""
    reply_token_expires_at: datetime | None = None
    """When ``reply_token`` stops working; after it the connector sends another way (LINE: a push)."""
    kind: ReplyKind = ReplyKind.MESSAGE
    tag: str = ""
    """A platform tag that lets a message out after the standard window closed (Meta ``HUMAN_AGENT``)."""
    template: Template | None = None
    """The template to send, for ``ReplyKind.TEMPLATE``; ``text`` is then only a preview for people."""
    idempotency_key: str = ""
    """The same for every attempt at one outbound message (the outbox row's id), for platforms that take a retry
    key and send a retried request once (LINE ``X-Line-Retry-Key``)."""


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull a delivery asks for: the stream to read now, and credentials it adds for this pull only.

    For platforms whose webhook only says that something is waiting (WeCom 微信客服 ``kf_msg_or_event``: read
    it with ``kf/sync_msg`` and the callback's one-time ``Token``).
    """

    stream: type[RestStream[Any]]
    credentials: Mapping[str, str]


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
    webhook_keys: ClassVar[frozenset[str]] = frozenset()
    """Those of them only the webhook ingress uses (pulling and sending work without them)."""

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

    def own_ids(self, creds: Credentials) -> frozenset[str]:
        """The platform user ids of the channel's own account (a Page, a bot): its posts have no contact."""
        return frozenset()

    def channel_problem(self, body: bytes, creds: Credentials) -> str | None:
        """Why the channel stopped working, when a delivery says so (an app revoked); None for ordinary ones."""
        return None

    def diagnose(self, error: ConnectorError) -> str | None:
        """Say what is wrong with the channel when ``error`` means it needs a person's attention.

        Returns a reason to show on the channel (credentials refused or revoked, a permission missing), or
        None when the error passes by itself (rate limits, outages) or concerns one request only. Platforms
        with their own codes for these cases override it.
        """
        if isinstance(error, AuthRejected):
            return f"{self.platform}: the platform refused the channel's credentials ({error})"
        return None

    def pull_requested(self, item: Inbound) -> PullRequest | None:
        """The pull a delivered item asks for (its content must be read from the API), or None for most items."""
        return None

    async def fetch_profile(self, http: httpx.AsyncClient, creds: Credentials, user_id: str) -> Sender | None:
        """Return a person's platform profile (name, picture), for platforms whose deliveries carry only an id.

        None where the platform has no such lookup or its deliveries already carry the profile.
        """
        return None

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Ask the platform whether the channel's credentials still work: the problem, or None when they do.

        Platforms with a cheap "who am I" call override it; by default nothing is checked.
        """
        return None

    def can_send(self, reply: Reply) -> bool:
        """Tell whether this platform can send this kind of reply at all (see ``REPLY_CAPABILITIES``)."""
        return REPLY_CAPABILITIES[reply.kind] in self.capabilities

    def open_stream(
        self,
        stream: type[RestStream[ItemT]],
        http: httpx.AsyncClient,
        creds: Credentials,
        bucket: TokenBucket | None = None,
    ) -> RestStream[ItemT]:
        """Return one of this connector's streams, ready to pull for one channel."""
        return stream(self.api(http, creds, bucket), creds)

"""Meta: Facebook Pages, Messenger, Instagram and the WhatsApp Cloud API under one app secret."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, Reply
from scrm.connectors.errors import AuthRejected, ConnectorError, TemporaryFailure
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.meta.graph import GRAPH_URL, GraphClient, classify_graph
from scrm.connectors.meta.health import (
    TokenInfo,
    TokenVerdict,
    debug_token,
    judge_token,
    needed_permissions,
    problem_of,
)
from scrm.connectors.meta.ids import Space, scoped
from scrm.connectors.meta.payloads import parse_body
from scrm.connectors.meta.send import build_request, sent_id
from scrm.connectors.meta.streams import (
    InstagramComments,
    InstagramConversations,
    InstagramMedia,
    MessageTemplates,
    PageComments,
    PageConversations,
    PagePosts,
    TemplateInfo,
)
from scrm.connectors.ratelimit import RateLimit, TokenBucket

log = logging.getLogger(__name__)

OPTIONAL_KEYS = frozenset(
    {
        "page_id",
        "page_access_token",
        "instagram_account_id",
        "whatsapp_phone_number_id",
        "whatsapp_token",
        "whatsapp_business_account_id",  # only to list templates (/{waba-id}/message_templates)
        "app_id",  # only for debug_token, whose app token is "<app id>|<app secret>"
    }
)
"""Channel keys a Meta channel has for the products it uses: a Page-only channel has no WhatsApp keys."""


class Meta(Connector):
    """Facebook Page feed and Messenger, Instagram comments and Direct, WhatsApp messages and templates."""

    platform = "meta"
    capabilities = frozenset(
        {
            Capability.MESSAGES,
            Capability.REPLY,
            Capability.POSTS,
            Capability.COMMENTS,
            Capability.TEMPLATES,
            Capability.PULL,
        }
    )
    # WhatsApp Cloud API: "up to 80 messages per second (mps) by default" per business phone number
    # (developers.facebook.com/documentation/business-messaging/whatsapp/throughput). Page and Instagram calls
    # have hourly quotas instead, paced by the usage headers (graph.classify_graph).
    rate_limit = RateLimit(calls=80, per=timedelta(seconds=1))
    streams = (PagePosts, PageComments, PageConversations, InstagramConversations, InstagramMedia, InstagramComments)
    credential_keys = frozenset({"app_secret", "verify_token"})

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a Graph client with the Page access token, which also serves the linked Instagram account."""
        return self._graph(http, creds.get("page_access_token", ""), bucket)

    def whatsapp_api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a Graph client with the WhatsApp token (a system-user token of the business)."""
        return self._graph(http, creds.get("whatsapp_token", ""), bucket)

    def own_ids(self, creds: Credentials) -> frozenset[str]:
        """The Page and the Instagram account themselves, as the connector names their ids."""
        own = {scoped(Space.FACEBOOK, creds["page_id"])} if creds.get("page_id") else set()
        if creds.get("instagram_account_id"):
            own.add(scoped(Space.INSTAGRAM, creds["instagram_account_id"]))
        return frozenset(own)

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Turn a verified notification of any Meta product into items."""
        return parse_body(body)

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a message, comment reply, private reply or template and return its id in its space.

        Raises ``MessagingWindowClosed`` outside the window, ``RecipientUnavailable``, ``PermissionDenied`` or
        ``AuthRejected`` for token trouble (see ``diagnose``), ``RateLimited`` when throttled.
        """
        request = build_request(reply, creds)
        api = self.whatsapp_api(http, creds) if request.space is Space.WHATSAPP else self.api(http, creds)
        response = await api.call("POST", request.path, json=dict(request.body), idempotent=False)
        return sent_id(request.space, response.json())

    async def list_templates(self, http: httpx.AsyncClient, creds: Credentials) -> list[TemplateInfo]:
        """Return the WhatsApp Business Account's message templates, every page of them."""
        stream = MessageTemplates(self.whatsapp_api(http, creds), creds)
        return [pulled.item async for pulled in stream.iter_pulled()]

    async def inspect_token(
        self, http: httpx.AsyncClient, creds: Credentials, key: str = "page_access_token"
    ) -> TokenInfo:
        """Ask Meta whether the channel's token under ``key`` is valid, until when, with which permissions.

        Needs the channel's ``app_id``: ``debug_token`` is called with the app token ``<app id>|<app secret>``.
        """
        if not creds.get("app_id"):
            raise ValueError("inspecting a Meta token needs the channel's app_id")
        app_token = f"{creds['app_id']}|{creds['app_secret']}"
        return await debug_token(self._graph(http, app_token, None), creds[key])

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Check the Page token and, when set, the WhatsApp token: the problem, or None (``review_credentials``)."""
        return (await self.review_credentials(http, creds)).problem

    async def review_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> TokenVerdict:
        """Check the Page token and, when set, the WhatsApp token: valid, not expired, with the permissions needed.

        With the channel's ``app_id``, ``debug_token`` (app token ``<app id>|<app secret>``) says validity,
        expiry and scopes (``health.judge_token``); a token ending within 7 days is no problem yet but a warning,
        with the soonest end (``scrm.channel_checks`` stores it on the channel; the channel stays active).
        Without it, ``GET /me?fields=id`` with the Page token must answer the channel's ``page_id`` and the
        WhatsApp token must read its phone number (``GET /{phone-number-id}?fields=id``).
        """
        warnings: list[TokenVerdict] = []
        try:
            for key, label in (("page_access_token", "Page token"), ("whatsapp_token", "WhatsApp token")):
                if creds.get(key):
                    verdict = await self._check_token(http, creds, key, label)
                    if verdict.problem is not None:
                        return verdict
                    if verdict.warning is not None:
                        warnings.append(verdict)
        except TemporaryFailure:
            raise  # an outage or a quota says nothing about the tokens
        except ConnectorError as exc:
            return TokenVerdict(problem=self.diagnose(exc) or f"meta: the token could not be checked: {exc}")
        if not warnings:
            return TokenVerdict()
        soonest = min(w.ends_at for w in warnings if w.ends_at is not None)
        return TokenVerdict(warning="; ".join(w.warning for w in warnings if w.warning), ends_at=soonest)

    async def _check_token(self, http: httpx.AsyncClient, creds: Credentials, key: str, label: str) -> TokenVerdict:
        if creds.get("app_id"):
            try:
                info = await self.inspect_token(http, creds, key)
            except AuthRejected as exc:
                return TokenVerdict(
                    problem=f"meta: debug_token refused the app id and app secret; copy them again ({exc})"
                )
            verdict = judge_token(info, needed_permissions(creds, key), self.clock.now(), label)
            if verdict.warning is not None:
                log.warning("%s", verdict.warning)
            return verdict
        if key == "whatsapp_token":
            if creds.get("whatsapp_phone_number_id"):
                path = f"/{creds['whatsapp_phone_number_id']}"
                await self.whatsapp_api(http, creds).call("GET", path, params={"fields": "id"})
            return TokenVerdict()
        found = str((await self.api(http, creds).call("GET", "/me", params={"fields": "id"})).json().get("id", ""))
        if creds.get("page_id") and found != creds["page_id"]:
            page = creds["page_id"]
            return TokenVerdict(problem=f"meta: the Page token belongs to {found}, not to the channel's Page {page}")
        return TokenVerdict()

    def diagnose(self, error: ConnectorError) -> str | None:
        """Say what a refused call means for the channel: token expired, revoked or invalid, permission missing."""
        problem = problem_of(error)
        if problem is None:
            return super().diagnose(error)
        return f"meta: {problem.reason} ({problem.problem})"

    def _graph(self, http: httpx.AsyncClient, token: str, bucket: TokenBucket | None) -> ApiClient:
        """A Graph client sending ``token`` as a bearer header, the form the Cloud API docs use.

        Cloud API is built on Graph API and authenticates with ``Authorization: Bearer`` (Cloud API overview);
        keeping the token out of URLs keeps it out of logs. These tokens cannot be refreshed here, so a refused
        token raises ``AuthRejected`` at once.
        """
        headers = {"Authorization": f"Bearer {token}"}
        return GraphClient(http, GRAPH_URL, self.clock, classify=classify_graph, bucket=bucket, headers=headers)

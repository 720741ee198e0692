"""LINE Official Accounts through the Messaging API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, Reply, ReplyKind
from scrm.connectors.errors import ConnectorError, RequestRejected, TemporaryFailure
from scrm.connectors.http import ApiClient, RetryPolicy
from scrm.connectors.items import Inbound, Sender
from scrm.connectors.line.payloads import parse_body, sender_from_profile
from scrm.connectors.line.streams import Followers
from scrm.connectors.outcomes import Outcome, Verdict, classify_status, outcome_for_status
from scrm.connectors.ratelimit import RateLimit, TokenBucket

API_URL = "https://api.line.me"
# Statuses read LINE's way: 401 means the channel access token is invalid, expired or revoked; a
# long-lived token cannot be refreshed by us, so it fails as an auth error (channel-access-token doc).
STATUS_OVERRIDES = {401: Outcome.REAUTH}
# A 429 for the monthly message quota will not pass by waiting; its text is "You have reached your monthly
# limit." per the Messaging API reference's error list — [unverified] wording, matched loosely.
MONTHLY_LIMIT = "monthly limit"
ACCEPTED_REQUEST = "x-line-accepted-request-id"
SEND_POLICY = RetryPolicy(max_wait=0.0)
"""Sends hand a 429 back at once: LINE documents the status but neither its limits nor a ``Retry-After``
(line.md d, [unverified]), so rather than sleeping through back-offs while holding a send slot, the outbox
reschedules the message (``RateLimited``; nothing is lost). Retries after a 5xx keep their inline back-off."""
RETRY_KEYS = uuid.UUID("5b0f4d4e-7c1a-4f0e-9d51-3c2a6e8b9a10")
"""Namespace of the name-based UUIDs sent as ``X-Line-Retry-Key`` (LINE asks for a hexadecimal UUID)."""


def classify_line(response: httpx.Response, now: datetime) -> Verdict:
    """Judge a Messaging API answer: the status table with LINE's readings of 401, 409 and 429.

    A 409 with ``x-line-accepted-request-id`` answers a retried push whose ``X-Line-Retry-Key`` was already
    accepted: the message went out the first time (developers.line.biz/en/docs/messaging-api/retrying-api-request).
    """
    verdict = classify_status(response, now)
    status = response.status_code
    if status == 409 and ACCEPTED_REQUEST in response.headers:
        return Verdict(Outcome.OK)
    if status == 429 and MONTHLY_LIMIT in response.text.lower():
        return Verdict(Outcome.FAIL, None, "monthly_limit", verdict.detail)
    outcome = outcome_for_status(status, STATUS_OVERRIDES)
    return Verdict(outcome, verdict.retry_after, status if outcome is not Outcome.OK else None, verdict.detail)


class Line(Connector):
    """LINE Official Accounts: webhook events, followers with profiles, reply and push messages."""

    platform = "line"
    capabilities = frozenset({Capability.MESSAGES, Capability.REPLY, Capability.FOLLOWS, Capability.PULL})
    # The Messaging API reference's "Rate limits" table (developers.line.biz/en/reference/messaging-api/#rate-limits):
    # limits apply per channel and endpoint, "Other API endpoints: 2,000 requests per second"; the lower rows (per
    # hour or minute, 100-370 per second) name endpoints this connector never calls (audiences, rich menus, bulk
    # sends). Passing a limit answers 429 (line.md d); one bucket at the common figure paces every call.
    rate_limit = RateLimit(calls=2000, per=timedelta(seconds=1))
    streams = (Followers,)
    credential_keys = frozenset({"channel_secret", "channel_access_token"})

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a client that sends the channel access token as a bearer token (line.md c)."""
        return self._client(http, creds, bucket)

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Turn a webhook body (any number of events) into items."""
        return parse_body(body)

    async def fetch_profile(self, http: httpx.AsyncClient, creds: Credentials, user_id: str) -> Sender | None:
        """Return a user's display name, picture and language (``GET /v2/bot/profile/{userId}``, line.md d).

        None without a call for a group (``C…``) or multi-person chat (``R…``): only users (``U…``, webhook.yml
        ``^U[0-9a-f]{32}$``) have profiles.
        """
        if not user_id.startswith("U"):
            return None
        response = await self.api(http, creds).call("GET", f"/v2/bot/profile/{user_id}")
        return sender_from_profile(response.json())

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a text and return LINE's message id: a free reply while the reply token lasts, else a push.

        Pushes count against the monthly message quota; replies do not (line.md c). A reply token is used
        once: a refused one (400 "Invalid reply token") sent nothing, so the text then goes as a push.
        """
        if reply.kind is not ReplyKind.MESSAGE:
            raise RequestRejected(f"line cannot send a {reply.kind} reply", status=0, code="unsendable")
        if self._reply_token_usable(reply):
            payload = {"replyToken": reply.reply_token, "messages": [_text(reply)]}
            try:
                # not idempotent: after a lost answer a retry would find the token used and push a duplicate
                response = await self._client(http, creds, None, policy=SEND_POLICY).call(
                    "POST", "/v2/bot/message/reply", json=payload, idempotent=False
                )
            except RequestRejected as exc:
                if exc.status != 400:
                    raise
            else:
                return _sent_message_id(response)
        return await self._push(http, creds, reply)

    def diagnose(self, error: ConnectorError) -> str | None:
        """Name LINE's channel problems: a refused access token, a missing permission, the monthly quota."""
        if isinstance(error, RequestRejected) and error.code == "monthly_limit":
            return "line: the monthly message quota is used up; pushes resume next month or with a higher plan"
        if isinstance(error, RequestRejected) and error.status == 403:
            return f"line: the channel is not allowed to use this API (plan or permission missing): {error}"
        if isinstance(error, RequestRejected) and error.status == 401:
            return f"line: the channel access token is invalid, expired or revoked: {error}"
        return super().diagnose(error)

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Ask ``GET /v2/bot/info`` (the bot's own user id and name): a refused token is the channel's problem.

        A 401 means the channel access token is invalid, expired or revoked (channel-access-token doc); the
        call costs no message quota.
        """
        try:
            await self.api(http, creds).call("GET", "/v2/bot/info")
        except TemporaryFailure:
            raise  # an outage or a rate limit says nothing about the credentials
        except ConnectorError as exc:
            return self.diagnose(exc) or f"line: the bot information could not be read: {exc}"
        return None

    async def _push(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Push with an ``X-Line-Retry-Key`` that is the same for every attempt at one outbound message.

        LINE accepts a key once and answers a repeat with 409 and ``x-line-accepted-request-id``; "the retry key
        is valid for 24 hours after attempting the first request" (developers.line.biz/en/docs/messaging-api/
        retrying-api-request). The key is a UUID derived from ``reply.idempotency_key`` (the outbox row), so a
        retry after a 5xx, a lost answer or a crash sends once; without one, a fresh UUID covers this call only.
        """
        key = reply.idempotency_key
        retry_key = {"X-Line-Retry-Key": str(uuid.uuid5(RETRY_KEYS, key) if key else uuid.uuid4())}
        client = self._client(http, creds, None, retry_key, policy=SEND_POLICY)
        response = await client.call("POST", "/v2/bot/message/push", json={"to": reply.to, "messages": [_text(reply)]})
        return _sent_message_id(response)

    def _reply_token_usable(self, reply: Reply) -> bool:
        if not reply.reply_token:
            return False
        return reply.reply_token_expires_at is None or self.clock.now() < reply.reply_token_expires_at

    def _client(
        self,
        http: httpx.AsyncClient,
        creds: Credentials,
        bucket: TokenBucket | None,
        extra: dict[str, str] | None = None,
        *,
        policy: RetryPolicy | None = None,
    ) -> ApiClient:
        headers = {"Authorization": f"Bearer {creds['channel_access_token']}", **(extra or {})}
        return ApiClient(
            http, API_URL, self.clock, classify_line, bucket, headers=headers, policy=policy or RetryPolicy()
        )


def _text(reply: Reply) -> dict[str, Any]:
    return {"type": "text", "text": reply.text}


def _sent_message_id(response: httpx.Response) -> str:
    """Return the id LINE gave the message (``sentMessages[0].id``), or the accepted request's id after a 409."""
    if response.status_code == 409:
        return response.headers[ACCEPTED_REQUEST]
    sent = response.json().get("sentMessages") or [{}]
    return str(sent[0].get("id", ""))

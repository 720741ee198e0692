"""The generic API channel: any source without a connector posts events to us, and we post replies back.

Outbound replies go to the channel's `outbound_url` as JSON, signed like Stripe's and GitHub's webhooks:
`X-Scrm-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the signing secret>` and
`X-Scrm-Timestamp`, so the receiver can refuse forged or replayed requests. The body's `type` is the reply kind
(`message`, `comment`, `private_reply`). The receiver answers 2xx with `{"id": "..."}` (its id of the message);
429 (with `Retry-After`), 5xx and network errors are retried by the delivery engine; 3xx and 4xx fail the reply.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import timedelta

import httpx

from scrm.connectors.api.payloads import parse_batch
from scrm.connectors.base import Capability, Connector, Credentials, Reply
from scrm.connectors.errors import RateLimited, RequestRejected, TemporaryFailure
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.outcomes import classify_status, parse_retry_after
from scrm.connectors.ratelimit import RateLimit, TokenBucket

SIGNATURE_HEADER = "X-Scrm-Signature"
TIMESTAMP_HEADER = "X-Scrm-Timestamp"


def outbound_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """The value of `X-Scrm-Signature` for a body sent at `timestamp` (seconds since the epoch)."""
    digest = hmac.new(signing_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class GenericApi(Connector):
    """Our own channel for any source: events in through the inbound API, replies out to a signed URL."""

    platform = "api"
    capabilities = frozenset({Capability.MESSAGES, Capability.REPLY, Capability.POSTS, Capability.COMMENTS,
                              Capability.FOLLOWS})  # fmt: skip
    rate_limit = RateLimit(calls=50, per=timedelta(seconds=1))  # our choice: the receiver is unknown
    streams = ()
    credential_keys = frozenset({"inbound_token"})

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """A client for the receiver's URL (used for nothing but sending)."""
        return ApiClient(http, creds.get("outbound_url", ""), self.clock, classify=classify_status, bucket=bucket)

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """The items of one stored inbound batch."""
        return parse_batch(body)

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """POST the reply to `outbound_url`, signed; returns the receiver's id of it."""
        url, secret = creds.get("outbound_url", ""), creds.get("signing_secret", "")
        if not url or not secret:
            raise RequestRejected(
                "The channel has no outbound_url and signing_secret", status=400, code="no_outbound_url"
            )
        payload = {"type": reply.kind.value, "to": reply.to, "text": reply.text, "reply_to": reply.reply_to_id}
        body = json.dumps(payload, ensure_ascii=False).encode()
        timestamp = str(int(self.clock.now().timestamp()))
        headers = {"content-type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: outbound_signature(secret, timestamp, body)}  # fmt: skip
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"The outbound URL did not answer: {exc}") from exc
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock.now())
            raise RateLimited("The outbound URL asked us to slow down", retry_after)
        if response.status_code >= 500:
            raise TemporaryFailure(f"The outbound URL answered {response.status_code}")
        if response.status_code >= 300:
            raise RequestRejected(
                f"The outbound URL refused the reply: {response.text[:200]}", status=response.status_code
            )
        try:
            return str(response.json().get("id", ""))
        except (ValueError, AttributeError):
            return ""

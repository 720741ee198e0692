"""X (Twitter) accounts through API v2 and the Account Activity webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, Reply, ReplyKind
from scrm.connectors.errors import ConnectorError, RateLimited, RequestRejected, TemporaryFailure
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.outcomes import Outcome, Verdict, classify_status, outcome_for_status, quota_reset_wait
from scrm.connectors.ratelimit import Clock, RateLimit, TokenBucket
from scrm.connectors.stores import TokenStore
from scrm.connectors.x.oauth1 import OAuth1
from scrm.connectors.x.payloads import parse_activity, revocation, revoked_by
from scrm.connectors.x.streams import Followers, Mentions

API_URL = "https://api.x.com"
RATE_LIMIT_HEADERS = "x-rate-limit-"  # -limit, -remaining, -reset (Unix seconds); x.md d
STATUS_OVERRIDES = {401: Outcome.REAUTH}  # a refused bearer or access token; neither can be refreshed by us
# 403 answers whose cause is the app's setup rather than one recipient (a DM to someone who does not take DMs
# is also a 403): X's problem reasons for an app outside a Project or without access [unverified wording].
SETUP_REASONS = frozenset({"client-not-enrolled", "client-forbidden"})


def classify_x(response: httpx.Response, now: datetime) -> Verdict:
    """Judge an API v2 answer: the status table, plus X's ``x-rate-limit-*`` quota headers.

    x.md d: exceeding a limit answers 429 "until reset"; so a 429 waits until ``x-rate-limit-reset``, and a
    success that leaves ``x-rate-limit-remaining`` at 0 pauses the next call until then.
    """
    verdict = classify_status(response, now)
    reset_wait = quota_reset_wait(response.headers, now, RATE_LIMIT_HEADERS)
    outcome = outcome_for_status(response.status_code, STATUS_OVERRIDES)
    if outcome is Outcome.OK:
        return Verdict(Outcome.OK, pause=reset_wait)
    retry_after = verdict.retry_after if verdict.retry_after is not None else reset_wait
    return Verdict(outcome, retry_after, _problem_reason(response) or response.status_code, verdict.detail)


def _problem_reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return str(reason) if reason else None


class X(Connector):
    """X accounts: Account Activity DMs, mentions and follows; pulled mentions and followers; DMs sent."""

    platform = "x"
    capabilities = frozenset(
        {Capability.MESSAGES, Capability.REPLY, Capability.COMMENTS, Capability.FOLLOWS, Capability.PULL}
    )
    # x.md d: limits are per endpoint; the lowest read limit we use is followers, 300/15 min. DM sends have
    # their own, tighter window (15/15 min per user, x.md c), which the x-rate-limit-* headers enforce: a 16th
    # DM comes back 429 with the reset time and surfaces as RateLimited for the outbox to retry then.
    rate_limit = RateLimit(calls=300, per=timedelta(minutes=15))
    streams = (Mentions, Followers)
    credential_keys = frozenset(
        {"consumer_key", "consumer_secret", "access_token", "access_token_secret", "bearer_token", "user_id"}
    )

    def __init__(self, tokens: TokenStore, clock: Clock | None = None) -> None:
        super().__init__(tokens, clock)
        self._dm_resume: dict[str, datetime] = {}
        """Per account: when its DM quota resets, after an answer said none is left (one instance per process)."""

    def can_send(self, reply: Reply) -> bool:
        """Direct messages and public replies to posts; X has no private reply to a post."""
        return reply.kind in (ReplyKind.MESSAGE, ReplyKind.COMMENT)

    def own_ids(self, creds: Credentials) -> frozenset[str]:
        """The channel's own X account."""
        return frozenset({creds["user_id"]}) if creds.get("user_id") else frozenset()

    def channel_problem(self, body: bytes, creds: Credentials) -> str | None:
        """A `user_event.revoke` for the channel's own account: the app lost access to it."""
        user = revoked_by(body)
        if user is None or (creds.get("user_id") and creds["user_id"] != user):
            return None
        return revocation(body)

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a client for reads, authenticated with the app's bearer token (OAuth 2.0 app-only)."""
        headers = {"Authorization": f"Bearer {creds['bearer_token']}"}
        return ApiClient(http, API_URL, self.clock, classify=classify_x, bucket=bucket, headers=headers)

    def user_api(self, http: httpx.AsyncClient, creds: Credentials) -> ApiClient:
        """Return a client acting as the account itself: OAuth 1.0a user context, each request signed."""
        signer = OAuth1(
            creds["consumer_key"],
            creds["consumer_secret"],
            creds["access_token"],
            creds["access_token_secret"],
            self.clock,
        )
        return ApiClient(http, API_URL, self.clock, classify=classify_x, http_auth=signer)

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Turn one Account Activity delivery into items."""
        return parse_activity(body)

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a DM to ``reply.to`` (a user id) and return its ``dm_event_id``; or a public reply to a post.

        x.md c: ``POST /2/dm_conversations/with/:participant_id/messages`` with ``{"text": ...}``; a
        ``ReplyKind.COMMENT`` goes to ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id`` = ``reply.to``
        ([unverified] in x.md c) and returns the new post's id. Not retried after a lost answer: X takes no
        idempotency key, so a retry could publish twice.
        """
        if reply.kind is ReplyKind.COMMENT:
            payload = {"text": reply.text, "reply": {"in_reply_to_tweet_id": reply.to}}
            response = await self.user_api(http, creds).call("POST", "/2/tweets", json=payload, idempotent=False)
            return str(response.json()["data"]["id"])
        if reply.kind is not ReplyKind.MESSAGE:
            raise RequestRejected(f"x cannot send a {reply.kind} reply", status=0, code="unsendable")
        path = f"/2/dm_conversations/with/{reply.to}/messages"
        account = creds.get("user_id") or creds["access_token"]
        self._wait_for_dm_quota(account)
        try:
            response = await self.user_api(http, creds).call("POST", path, json={"text": reply.text}, idempotent=False)
        except RateLimited as exc:
            if exc.retry_after is not None:
                self._dm_resume[account] = self.clock.now() + timedelta(seconds=exc.retry_after)
            raise
        self._note_dm_quota(account, response)
        return str(response.json()["data"]["dm_event_id"])

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Ask ``GET /2/users/me`` as the account (OAuth 1.0a): a refused or revoked token is the channel's problem.

        The answer's ``data.id`` must be the channel's ``user_id``: tokens of another account would pull and
        send as someone else.
        """
        try:
            response = await self.user_api(http, creds).call("GET", "/2/users/me")
        except TemporaryFailure:
            raise  # an outage or a rate limit says nothing about the credentials
        except ConnectorError as exc:
            return self.diagnose(exc) or f"x: the account could not be read: {exc}"
        found = str((response.json().get("data") or {}).get("id", ""))
        if creds.get("user_id") and found != creds["user_id"]:
            return f"x: the access token belongs to account {found}, not to the channel's account {creds['user_id']}"
        return None

    def _wait_for_dm_quota(self, account: str) -> None:
        """Refuse to call while the account's DM window is used up (``x-rate-limit-remaining: 0`` until reset).

        X limits DM sends to 15 per 15 minutes per user (x.md c); the headers of the last answer say when the
        window resets, so the 16th send waits for it instead of spending a call on a 429.
        """
        resume = self._dm_resume.get(account)
        if resume is None:
            return
        wait = (resume - self.clock.now()).total_seconds()
        if wait > 0:
            raise RateLimited("x: the account's DM quota is used up until its reset", wait)
        del self._dm_resume[account]

    def _note_dm_quota(self, account: str, response: httpx.Response) -> None:
        wait = quota_reset_wait(response.headers, self.clock.now(), RATE_LIMIT_HEADERS)
        if wait is not None:
            self._dm_resume[account] = self.clock.now() + timedelta(seconds=wait)

    def diagnose(self, error: ConnectorError) -> str | None:
        """Name X's channel problems: refused tokens and an app without the access it needs."""
        if isinstance(error, RequestRejected) and error.code in SETUP_REASONS:
            return f"x: the app lacks access to this endpoint (check its Project and access level): {error}"
        if isinstance(error, RequestRejected) and error.status == 401:
            return f"x: the bearer token or the account's access token is invalid or revoked: {error}"
        return super().diagnose(error)

"""Telegram bots through the Bot API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, Reply
from scrm.connectors.errors import ConnectorError, RequestRejected, TemporaryFailure
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.outcomes import Outcome, Verdict, classify_status
from scrm.connectors.ratelimit import RateLimit, TokenBucket
from scrm.connectors.telegram.payloads import message_external_id, parse_update
from scrm.connectors.telegram.streams import Updates

API_URL = "https://api.telegram.org"


def classify_telegram(response: httpx.Response, now: datetime) -> Verdict:
    """Judge a Bot API answer: the status table, plus the ``{"ok": false}`` envelope and its ``retry_after``.

    telegram.md c/d: errors carry ``error_code``, ``description`` and ``parameters``; a 429 says
    ``"parameters": {"retry_after": N}`` (Query.cpp ``set_retry_after_error``).
    """
    verdict = classify_status(response, now)
    try:
        body = response.json()
    except ValueError:
        return verdict
    if not isinstance(body, dict) or body.get("ok") is not False:
        return verdict
    parameters = body.get("parameters") or {}
    retry_after = parameters.get("retry_after", verdict.retry_after)
    outcome = Outcome.FAIL if verdict.outcome is Outcome.OK else verdict.outcome
    return Verdict(outcome, retry_after, body.get("error_code"), body.get("description", ""))


class Telegram(Connector):
    """Telegram bots through the Bot API."""

    platform = "telegram"
    capabilities = frozenset({Capability.MESSAGES, Capability.REPLY, Capability.FOLLOWS, Capability.PULL})
    # Bot FAQ soft limit "about 30 messages per second" across chats (telegram.md d, PTB constants.FloodLimit)
    rate_limit = RateLimit(calls=30, per=timedelta(seconds=1))
    streams = (Updates,)
    # secret_token: the ingress refuses deliveries without it (setWebhook secret_token, telegram.md a)
    credential_keys = frozenset({"bot_token", "secret_token"})
    webhook_keys = frozenset({"secret_token"})

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a Bot API client: the token is part of every method's URL."""
        base = f"{API_URL}/bot{creds['bot_token']}"
        return ApiClient(http, base, self.clock, classify=classify_telegram, bucket=bucket)

    def diagnose(self, error: ConnectorError) -> str | None:
        """A 401 means the bot token is wrong or was revoked in @BotFather (telegram.md c): the channel needs it."""
        if isinstance(error, RequestRejected) and error.status == 401:
            return "telegram: the bot token was refused (revoked in @BotFather, or mistyped); paste a new one"
        return super().diagnose(error)

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Ask ``getMe`` (the bot's own user): a 401 means the token was revoked in @BotFather or is wrong.

        The answer's ``result.id`` must be the number before the token's colon: a token of another bot would
        receive and send as that bot.
        """
        try:
            response = await self.api(http, creds).call("GET", "/getMe")
        except TemporaryFailure:
            raise  # an outage or a flood wait says nothing about the token
        except ConnectorError as exc:
            return self.diagnose(exc) or f"telegram: the bot could not be read: {exc}"
        bot_id = str((response.json().get("result") or {}).get("id", ""))
        expected = creds.get("bot_token", "").partition(":")[0]
        if expected and bot_id != expected:
            return f"telegram: the token belongs to bot {bot_id}, not to bot {expected}"
        return None

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Turn a webhook body (one Update) into items."""
        item = parse_update(json.loads(body))
        return [item] if item is not None else []

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a text with ``sendMessage`` and return the message's external id, ``<chat_id>:<message_id>``."""
        payload: dict[str, Any] = {"chat_id": reply.to, "text": reply.text}
        if reply.reply_to_id:
            message_id = int(reply.reply_to_id.rsplit(":", 1)[-1])
            payload["reply_parameters"] = {"message_id": message_id, "allow_sending_without_reply": True}
        response = await self.api(http, creds).call("POST", "/sendMessage", json=payload, idempotent=False)
        result = response.json()["result"]
        return message_external_id(result["chat"]["id"], result["message_id"])

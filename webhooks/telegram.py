"""Telegram Bot API webhooks: `X-Telegram-Bot-Api-Secret-Token` checked, `update_id` as the event id.

Telegram signs nothing: `setWebhook(secret_token=…)` makes it send that token in a header, compared here in
constant time (telegram.md a). Any non-2xx answer is retried by Telegram, so a stored delivery gets 200.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from litestar import Response
from litestar.exceptions import HTTPException

from scrm.channel_access import ChannelAccess
from scrm.connectors.telegram.payloads import event_id as update_id
from webhooks.platforms import Delivery, body_digest, plain
from webhooks.signatures import telegram_secret_token_ok

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name, not a secret


class TelegramHook:
    """The Telegram side of the ingress."""

    platform = "telegram"
    kept_headers = frozenset({"content-type"})

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """Telegram has no subscription handshake: `setWebhook` is called from our side."""
        raise HTTPException(status_code=405, detail="Telegram webhooks have no GET handshake; use setWebhook")

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """The secret token header must equal the channel's `secret_token` (a channel without one is refused)."""
        expected = channel.credentials.get("secret_token", "")
        return bool(expected) and telegram_secret_token_ok(delivery.headers.get(SECRET_HEADER, ""), expected)

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """The update's `update_id`, unique per bot."""
        try:
            return update_id(json.loads(delivery.body))
        except (ValueError, TypeError, KeyError, AttributeError):
            return body_digest(delivery.body)

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """An empty 200."""
        return plain("")

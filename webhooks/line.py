"""LINE Messaging API webhooks: `x-line-signature` checked, the events' `webhookEventId`s as the id.

LINE signs each body `base64(HMAC-SHA256(channel secret, raw body))` in `x-line-signature`; it has no GET
handshake and does not disclose its source addresses, so the signature is the only control. A delivery counts
as failed when it is not answered 200, and failed deliveries come again only with the opt-in "webhook
redelivery", marked `deliveryContext.isRedelivery` and keeping their `webhookEventId` (line.md a).

When the URL is set or checked in the console, LINE posts an empty `events` array "to confirm communication".
It is signed like any delivery and is stored like one: the route stays the same for every body LINE sends,
the worker finds no items in it and lets it expire with the other raw events, and the stored row shows that
LINE reached us with the right secret. A repeated check has the same bytes, hence the same id, and is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Response
from litestar.exceptions import HTTPException

from scrm.channel_access import ChannelAccess
from scrm.connectors.line.payloads import event_id as body_event_id
from webhooks.platforms import Delivery, plain
from webhooks.signatures import line_signature_ok

SIGNATURE_HEADER = "x-line-signature"


class LineHook:
    """The LINE side of the ingress."""

    platform = "line"
    kept_headers = frozenset({"content-type", SIGNATURE_HEADER})

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """LINE has no GET handshake: the console checks the URL with a signed POST."""
        raise HTTPException(status_code=405, detail="LINE webhooks have no GET handshake; LINE verifies with a POST")

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """`x-line-signature` must be the base64 HMAC of the raw body under the channel's `channel_secret`."""
        secret = channel.credentials.get("channel_secret", "")
        return bool(secret) and line_signature_ok(delivery.body, secret, delivery.headers.get(SIGNATURE_HEADER, ""))

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """The single event's `webhookEventId`, a digest of several; the body's digest when there are none."""
        return body_event_id(delivery.body)

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """An empty 200: any other status counts as a failed delivery."""
        return plain("")

"""Meta webhooks (Pages, Messenger, Instagram, WhatsApp): `X-Hub-Signature-256` checked, the body's digest as id.

GET is the subscription check: the dashboard sends `hub.mode=subscribe`, `hub.verify_token` and
`hub.challenge`, and the endpoint echoes the challenge when the token is the one typed in the dashboard.
POST bodies are signed `sha256=<hex HMAC-SHA256(app secret, raw body)>` with no timestamp, so the check runs on
the raw bytes before any parsing. Meta sends no delivery id, and retries any delivery not answered 200
("immediately … a few more times", WhatsApp "for up to 7 days", [unverified] schedule) (meta.md a).
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Response
from litestar.exceptions import PermissionDeniedException

from scrm.channel_access import ChannelAccess
from scrm.connectors.meta.payloads import event_id as body_event_id
from scrm.connectors.meta.payloads import verify_subscription
from webhooks.platforms import Delivery, plain
from webhooks.signatures import meta_signature_ok

SIGNATURE_HEADER = "x-hub-signature-256"


class MetaHook:
    """The Meta side of the ingress: one app secret signs every product's deliveries."""

    platform = "meta"
    kept_headers = frozenset({"content-type", SIGNATURE_HEADER})

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """Echo `hub.challenge` when the mode is `subscribe` and `hub.verify_token` is the channel's token."""
        challenge = verify_subscription(query, channel.credentials.get("verify_token", ""))
        if challenge is None:
            raise PermissionDeniedException("Not a subscription check with this channel's verify token and a challenge")
        return plain(challenge)

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """`X-Hub-Signature-256` must be the HMAC of the raw body under the channel's `app_secret`."""
        secret = channel.credentials.get("app_secret", "")
        return bool(secret) and meta_signature_ok(delivery.body, secret, delivery.headers.get(SIGNATURE_HEADER, ""))

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """The SHA-256 of the raw body: a retry of the same bytes is the same delivery.

        A body may batch entries from several people and carries no id of its own (meta.md a); each item in it
        is still stored once through its own id when the body is processed.
        """
        return body_event_id(delivery.body)

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """`EVENT_RECEIVED` with 200, as Meta's sample apps answer: anything else is retried."""
        return plain("EVENT_RECEIVED")

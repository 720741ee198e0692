"""X Account Activity webhooks: the CRC answered, `x-twitter-webhooks-signature` checked, event ids from the body.

GET `?crc_token=` is X's challenge-response check, sent on registration, on re-validation and periodically: the
answer is JSON `{"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, crc_token))}`, keyed with
the app's consumer secret. POST bodies carry `x-twitter-webhooks-signature`, the same HMAC over the raw body,
with no timestamp. X wants 200 within 10 seconds; it documents no retry schedule, and missed events are
recovered with the Replay API for the last 24 hours (x.md a).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from litestar import MediaType, Response
from litestar.exceptions import HTTPException, PermissionDeniedException

from scrm.channel_access import ChannelAccess
from scrm.connectors.x.payloads import event_id as body_event_id
from webhooks.platforms import Delivery, body_digest, plain
from webhooks.signatures import x_crc_response_token, x_signature_ok

SIGNATURE_HEADER = "x-twitter-webhooks-signature"


class XHook:
    """The X side of the ingress."""

    platform = "x"
    kept_headers = frozenset({"content-type", SIGNATURE_HEADER})

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """Answer the CRC with the `response_token` that proves we hold the app's consumer secret."""
        crc_token = query.get("crc_token", "")
        if not crc_token:
            raise HTTPException(status_code=400, detail="X checks this address with ?crc_token=; none was given")
        secret = channel.credentials.get("consumer_secret", "")
        if not secret:
            raise PermissionDeniedException("This channel has no consumer secret to answer X's CRC with")
        token = x_crc_response_token(secret, crc_token)
        return Response(content=json.dumps({"response_token": token}), media_type=MediaType.JSON)

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """`x-twitter-webhooks-signature` must be the HMAC of the raw body under the channel's `consumer_secret`."""
        secret = channel.credentials.get("consumer_secret", "")
        return bool(secret) and x_signature_ok(delivery.body, secret, delivery.headers.get(SIGNATURE_HEADER, ""))

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """The DM's or post's id (a digest of several); the body's digest for follows and other id-less events."""
        try:
            return body_event_id(delivery.body)
        except (TypeError, AttributeError):  # an event array that is not a list of objects
            return body_digest(delivery.body)

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """An empty 200."""
        return plain("")

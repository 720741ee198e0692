"""WeChat Official Account webhooks: `signature` (plain mode) or `msg_signature` over `Encrypt` (safe mode).

GET is the server-address check: answer `echostr` once `signature` = sha1(sort(token, timestamp, nonce))
matches. POST carries XML; in safe mode (an `encoding_aes_key` on the channel and an `Encrypt` element) the
signature that counts is `msg_signature` = sha1(sort(token, timestamp, nonce, Encrypt)). WeChat waits 5 s
and retries three times; the answer `success` stops the retries (wechat.md a, b).
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Response
from litestar.exceptions import NotAuthorizedException

from scrm.channel_access import ChannelAccess
from scrm.connectors.wechat.crypto import MessageCrypto, MessageCryptoError
from scrm.connectors.wechat.payloads import PayloadError, event_id, parse_xml
from webhooks.platforms import Delivery, body_digest, plain
from webhooks.signatures import wechat_msg_signature_ok, wechat_signature_ok


class WeChatHook:
    """The WeChat Official Account side of the ingress."""

    platform = "wechat"
    kept_headers = frozenset({"content-type"})

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """Echo `echostr` when the signature proves WeChat knows the channel's `token`."""
        if not _signature_ok(query, channel):
            raise NotAuthorizedException("The signature does not match this channel's token")
        return plain(query.get("echostr", ""))

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """`msg_signature` for an encrypted body, else `signature`."""
        encrypt = _encrypted_part(delivery.body) if channel.credentials.get("encoding_aes_key") else None
        if encrypt is None:
            return _signature_ok(delivery.query, channel)
        query, token = delivery.query, channel.credentials.get("token", "")
        return bool(token) and wechat_msg_signature_ok(
            token, query.get("timestamp", ""), query.get("nonce", ""), encrypt, query.get("msg_signature", "")
        )

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """`MsgId` for a message, the sender + time + event for an event; decrypted first in safe mode."""
        try:
            fields = parse_xml(delivery.body)
            if "Encrypt" in fields and channel.credentials.get("encoding_aes_key"):
                fields = parse_xml(_crypto(channel).decrypt(fields["Encrypt"]))
            return event_id(fields)
        except (PayloadError, MessageCryptoError, KeyError, ValueError):
            return body_digest(delivery.body)

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """`success`: WeChat stops retrying and shows the user nothing."""
        return plain("success")


def _signature_ok(query: Mapping[str, str], channel: ChannelAccess) -> bool:
    token = channel.credentials.get("token", "")
    return bool(token) and wechat_signature_ok(
        token, query.get("timestamp", ""), query.get("nonce", ""), query.get("signature", "")
    )


def _encrypted_part(body: bytes) -> str | None:
    try:
        return parse_xml(body).get("Encrypt")
    except (PayloadError, ValueError):  # not XML, or not UTF-8: not a delivery we can verify
        return None


def _crypto(channel: ChannelAccess) -> MessageCrypto:
    creds = channel.credentials
    return MessageCrypto(creds["token"], creds["encoding_aes_key"], creds.get("app_id", ""))

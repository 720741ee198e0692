"""WeCom (企业微信) callbacks: `msg_signature` over the encrypted part, the decrypted `MsgId` or event as the id.

GET is the callback URL check: `msg_signature` = sha1(sort(token, timestamp, nonce, echostr)) must match, and
the answer is the decrypted `echostr` alone, within 1 s. Every POST carries `msg_signature`, `timestamp` and
`nonce` in the query and `<xml><Encrypt/>…</xml>` as the body, signed the same way over `Encrypt`. WeCom drops
the connection after 5 s and retries three times, treating any status but 200 as a failure; an empty 200 says
the callback was taken and nothing is replied (wecom.md a).
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Response
from litestar.exceptions import NotAuthorizedException

from scrm.channel_access import ChannelAccess
from scrm.connectors.wechat.crypto import MessageCrypto, MessageCryptoError
from scrm.connectors.wechat.payloads import parse_xml
from scrm.connectors.wecom.payloads import event_id as callback_event_id
from scrm.connectors.wecom.payloads import verify_url
from webhooks.platforms import Delivery, body_digest, plain
from webhooks.signatures import wecom_msg_signature_ok


class WeComHook:
    """The WeCom side of the ingress: one corp app's token and EncodingAESKey per channel."""

    platform = "wecom"
    kept_headers = frozenset({"content-type"})

    def handshake(self, query: Mapping[str, str], channel: ChannelAccess) -> Response[str]:
        """Answer the decrypted `echostr` when `msg_signature` proves WeCom knows the channel's token."""
        try:
            echo = verify_url(
                _crypto(channel),
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
                query.get("echostr", ""),
            )
        except (MessageCryptoError, KeyError) as exc:
            raise NotAuthorizedException("The msg_signature or echostr does not match this channel") from exc
        return plain(echo)

    def verify(self, delivery: Delivery, channel: ChannelAccess) -> bool:
        """`msg_signature` must be the signature of the body's `Encrypt` under the channel's token."""
        token = channel.credentials.get("token", "")
        encrypt = _encrypted_part(delivery.body)
        query = delivery.query
        return (
            bool(token)
            and encrypt is not None
            and wecom_msg_signature_ok(
                token, query.get("timestamp", ""), query.get("nonce", ""), encrypt, query.get("msg_signature", "")
            )
        )

    def event_id(self, delivery: Delivery, channel: ChannelAccess) -> str:
        """`MsgId` for a message, the sender, time and change for an event, read after decrypting.

        The ciphertext cannot serve: WeCom may encrypt a retry afresh (see the connector's `event_id`).
        """
        try:
            return callback_event_id(delivery.body, _crypto(channel))
        except (ValueError, KeyError):  # a channel without its keys, or a plaintext that is not UTF-8
            return body_digest(delivery.body)

    def acknowledge(self, delivery: Delivery) -> Response[str]:
        """An empty 200: taken, with no passive reply."""
        return plain("")


def _encrypted_part(body: bytes) -> str | None:
    """The `Encrypt` element of a callback body; None when the body is not XML at all."""
    try:
        return parse_xml(body).get("Encrypt")
    except ValueError:  # PayloadError, or bytes that are not UTF-8
        return None


def _crypto(channel: ChannelAccess) -> MessageCrypto:
    """The channel's callback crypto; the receive id is the corp id (wecom.md a)."""
    creds = channel.credentials
    return MessageCrypto(creds["token"], creds["encoding_aes_key"], creds["corp_id"])

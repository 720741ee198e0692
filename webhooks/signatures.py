"""Webhook signature checks for every platform: pure functions, constant-time comparisons.

Each ``*_ok`` function returns a bool and never raises on malformed input (a malformed signature is simply
not valid). Platform facts are cited from the platform notes beside the repository (``platforms/<name>.md``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SLACK_TOLERANCE_SECONDS = 300  # slack.md a: reject if abs(now - timestamp) > 60 * 5
TIKTOK_TOLERANCE_SECONDS = 300  # douyin_tiktok.md: "decide whether the difference is tolerable" — ours


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _hmac(secret: str, message: bytes, digest: str) -> bytes:
    return hmac.new(secret.encode(), message, digest).digest()


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``body`` under ``secret``."""
    return _hmac(secret, body, "sha256").hex()


def hmac_sha256_hex_ok(body: bytes, secret: str, signature: str) -> bool:
    """Check a hex HMAC-SHA256 of the raw body, with or without a ``sha256=`` prefix.

    Meta ``X-Hub-Signature-256: sha256=<hex>``, key = App Secret (meta.md a); Mastodon admin webhooks alike.
    """
    return _same(hmac_sha256_hex(secret, body), signature.removeprefix("sha256="))


def meta_signature_ok(body: bytes, app_secret: str, header: str) -> bool:
    """Check Meta's ``X-Hub-Signature-256`` header, which must carry the ``sha256=`` prefix (meta.md a)."""
    return header.startswith("sha256=") and hmac_sha256_hex_ok(body, app_secret, header)


def telegram_secret_token_ok(header: str, secret_token: str) -> bool:
    """Check ``X-Telegram-Bot-Api-Secret-Token`` against the token given to ``setWebhook`` (telegram.md a)."""
    return bool(secret_token) and _same(secret_token, header)


def sha1_sorted_hex(*parts: str) -> str:
    """Return SHA-1 hex of the parts sorted and concatenated: the WeChat, WeCom and Weibo scheme."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the platform's algorithm


def wechat_signature_ok(token: str, timestamp: str, nonce: str, signature: str) -> bool:
    """Check the plain-mode ``signature`` = sha1(sort(token, timestamp, nonce)) (wechat.md a)."""
    return _same(sha1_sorted_hex(token, timestamp, nonce), signature)


def wechat_msg_signature_ok(token: str, timestamp: str, nonce: str, encrypt: str, msg_signature: str) -> bool:
    """Check safe-mode ``msg_signature`` = sha1(sort(token, timestamp, nonce, Encrypt)) (wechat.md a).

    WeCom signs its callbacks, including the GET ``echostr``, the same way (wecom.md a).
    """
    return _same(sha1_sorted_hex(token, timestamp, nonce, encrypt), msg_signature)


wecom_msg_signature_ok = wechat_msg_signature_ok


def weibo_signature_ok(app_secret: str, timestamp: str, nonce: str, signature: str) -> bool:
    """Check Weibo fan-service ``signature`` = sha1(sort(appsecret, timestamp, nonce)) (weibo.md a)."""
    return _same(sha1_sorted_hex(app_secret, timestamp, nonce), signature)


def line_signature(channel_secret: str, body: bytes) -> str:
    """Return ``x-line-signature``: base64 HMAC-SHA256 of the body under the channel secret (line.md a)."""
    return base64.b64encode(_hmac(channel_secret, body, "sha256")).decode()


def line_signature_ok(body: bytes, channel_secret: str, header: str) -> bool:
    """Check LINE's ``x-line-signature`` header over the raw body."""
    return _same(line_signature(channel_secret, body), header)


def x_crc_response_token(consumer_secret: str, crc_token: str) -> str:
    """Return the CRC answer ``sha256=`` + base64 HMAC-SHA256(consumer secret, crc_token) (x.md a)."""
    return "sha256=" + base64.b64encode(_hmac(consumer_secret, crc_token.encode(), "sha256")).decode()


def x_signature_ok(body: bytes, consumer_secret: str, header: str) -> bool:
    """Check ``x-twitter-webhooks-signature`` = ``sha256=`` + base64 HMAC-SHA256 of the body (x.md a)."""
    expected = "sha256=" + base64.b64encode(_hmac(consumer_secret, body, "sha256")).decode()
    return _same(expected, header)


def slack_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Return ``X-Slack-Signature``: ``v0=`` + hex HMAC-SHA256 of ``v0:timestamp:body`` (slack.md a)."""
    return "v0=" + _hmac(signing_secret, b"v0:" + timestamp.encode() + b":" + body, "sha256").hex()


def slack_signature_ok(body: bytes, signing_secret: str, timestamp: str, signature: str, now: float) -> bool:
    """Check a Slack request signature and that its timestamp is within five minutes of ``now`` (epoch s)."""
    if not _timestamp_near(timestamp, now, SLACK_TOLERANCE_SECONDS):
        return False
    return _same(slack_signature(signing_secret, timestamp, body), signature)


def ed25519_ok(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    """Check an Ed25519 signature (RFC 8032) with a hex public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def discord_signature_ok(body: bytes, public_key_hex: str, timestamp: str, signature_hex: str) -> bool:
    """Check ``X-Signature-Ed25519`` over ``X-Signature-Timestamp`` + raw body (discord.md a)."""
    return ed25519_ok(public_key_hex, timestamp.encode() + body, signature_hex)


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Return ``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL + each sorted name and value (twilio.md a).

    Names sorted; each name's values sorted with exact duplicates removed, as the official SDK does.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    return base64.b64encode(_hmac(auth_token, data.encode(), "sha1")).decode()


def twilio_signature_ok(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    """Check a form webhook's signature against the URL with and without its default port.

    twilio.md a: the SDK tries both forms because Twilio's own signing is inconsistent about ``:443``/``:80``.
    """
    pairs = list(params)
    results = [_same(twilio_signature(auth_token, form, pairs), signature) for form in _port_forms(url)]
    return any(results)


def twilio_body_sha256(body: bytes) -> str:
    """Return the hex SHA-256 that JSON-bodied Twilio webhooks put in the URL as ``bodySHA256``."""
    return hashlib.sha256(body).hexdigest()


def twilio_json_ok(auth_token: str, url: str, body: bytes, signature: str) -> bool:
    """Check a JSON-bodied webhook: the URL-only signature and the ``bodySHA256`` it carries (twilio.md a)."""
    claimed = parse_qs(urlsplit(url).query).get("bodySHA256", [""])[0]
    body_ok = _same(twilio_body_sha256(body), claimed)
    return twilio_signature_ok(auth_token, url, (), signature) and body_ok


def tiktok_signature_ok(body: bytes, client_secret: str, header: str, now: float) -> bool:
    """Check ``TikTok-Signature: t=<ts>,s=<hex>``: HMAC-SHA256 of ``t.body`` (douyin_tiktok.md, TikTok a)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, signature = fields.get("t", ""), fields.get("s", "")
    if not _timestamp_near(timestamp, now, TIKTOK_TOLERANCE_SECONDS):
        return False
    return _same(hmac_sha256_hex(client_secret, timestamp.encode() + b"." + body), signature)


def douyin_signature(client_secret: str, body: bytes) -> str:
    """Return ``X-Douyin-Signature``: hex SHA-1 of client_secret + raw body, not an HMAC (douyin_tiktok.md)."""
    return hashlib.sha1(client_secret.encode() + body).hexdigest()  # noqa: S324 - the platform's algorithm


def douyin_signature_ok(body: bytes, client_secret: str, header: str) -> bool:
    """Check Douyin's ``X-Douyin-Signature`` header."""
    return _same(douyin_signature(client_secret, body), header)


def _timestamp_near(timestamp: str, now: float, tolerance: float) -> bool:
    try:
        return abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False


def _port_forms(url: str) -> list[str]:
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0] if parts.port is not None else hostport
    default = 443 if parts.scheme == "https" else 80
    with_port = parts._replace(netloc=f"{userinfo}{at}{host}:{parts.port or default}")
    without_port = parts._replace(netloc=f"{userinfo}{at}{host}")
    return [url, urlunsplit(with_port), urlunsplit(without_port)]

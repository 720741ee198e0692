"""Every published vector in platforms/vectors.json verifies, and a tampered body or signature does not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhooks import signatures

PLATFORMS = Path(__file__).parents[2] / ".." / "shared" / "platforms"
VECTORS: list[dict[str, Any]] = json.loads((PLATFORMS / "vectors.json").read_text(encoding="utf-8"))


def _flip(text: str) -> str:
    """Change the last character to another digit, so hex stays hex in either letter case."""
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _sorted_parts(vector: dict[str, Any]) -> dict[str, str]:
    return dict(zip(vector["inputs"]["roles"], vector["inputs"]["parts"], strict=True))


def _check(vector: dict[str, Any], tamper: str | None) -> bool:
    """Run the vector through its verification function, optionally with a tampered input."""
    inputs, expected = vector["inputs"], vector["expected"]
    body = inputs.get("body", "").encode() + (b"x" if tamper == "body" else b"")
    algorithm = vector["algorithm"]
    if algorithm == "hmac_sha256_hex":
        sig = "sha256=" + expected["hex_digest"]
        return signatures.meta_signature_ok(body, inputs["app_secret"], _flip(sig) if tamper == "sig" else sig)
    if algorithm == "hmac_sha256_base64":
        sig = expected["x_line_signature"]
        return signatures.line_signature_ok(body, inputs["channel_secret"], _flip(sig) if tamper == "sig" else sig)
    if algorithm == "slack_v0":
        sig, ts = expected["x_slack_signature"], inputs["timestamp"]
        sig = _flip(sig) if tamper == "sig" else sig
        return signatures.slack_signature_ok(body, inputs["signing_secret"], ts, sig, now=int(ts) + 30)
    if algorithm == "twilio_form":
        return _check_twilio(inputs, expected["x_twilio_signature"], tamper)
    if algorithm == "sha256_hex":
        digest = signatures.twilio_body_sha256(body)
        return hmac.compare_digest(digest, _flip(expected["bodySHA256"]) if tamper == "sig" else expected["bodySHA256"])
    if algorithm == "sha1_sorted_concat":
        return _check_sha1_sorted(vector, tamper)
    if algorithm == "wx_msg_crypt":
        sig = _flip(expected["msg_signature"]) if tamper == "sig" else expected["msg_signature"]
        encrypt = inputs["encrypt"] + ("x" if tamper == "body" else "")
        return signatures.wechat_msg_signature_ok(inputs["token"], inputs["timestamp"], inputs["nonce"], encrypt, sig)
    if algorithm == "ed25519":
        return _check_ed25519(inputs, expected, tamper)
    raise AssertionError(f"no verification function for {algorithm}")


def _check_twilio(inputs: dict[str, Any], sig: str, tamper: str | None) -> bool:
    params = [tuple(pair) for pair in inputs["params"]] + ([("Body", "x")] if tamper == "body" else [])
    url = inputs["url"]
    if not params and tamper == "body":
        url += "&x=1"
    return signatures.twilio_signature_ok(inputs["auth_token"], url, params, _flip(sig) if tamper == "sig" else sig)


def _check_sha1_sorted(vector: dict[str, Any], tamper: str | None) -> bool:
    parts, expected = _sorted_parts(vector), vector["expected"]
    assert "".join(sorted(parts.values())) == expected["sorted_concat"]
    sig = _flip(expected["signature"]) if tamper == "sig" else expected["signature"]
    nonce = parts["nonce"] + ("1" if tamper == "body" else "")
    if vector["platform"] == "weibo":
        return signatures.weibo_signature_ok(parts["appsecret"], parts["timestamp"], nonce, sig)
    return signatures.wechat_signature_ok(parts["token"], parts["timestamp"], nonce, sig)


def _check_ed25519(inputs: dict[str, Any], expected: dict[str, Any], tamper: str | None) -> bool:
    public_key = inputs.get("public_key_hex") or expected["public_key_hex"]
    if "secret_seed_hex" in inputs:
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(inputs["secret_seed_hex"]))
        derived = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert derived.hex() == public_key
    message = bytes.fromhex(inputs["message_hex"]) + (b"x" if tamper == "body" else b"")
    sig = _flip(expected["signature_hex"]) if tamper == "sig" else expected["signature_hex"]
    return signatures.ed25519_ok(public_key, message, sig)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_published_vector_verifies(vector: dict[str, Any]) -> None:
    assert _check(vector, tamper=None)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
@pytest.mark.parametrize("tamper", ["body", "sig"])
def test_tampered_vector_fails(vector: dict[str, Any], tamper: str) -> None:
    assert not _check(vector, tamper=tamper)


def test_all_eighteen_vectors_are_covered() -> None:
    assert len(VECTORS) == 18


def test_meta_header_needs_its_prefix() -> None:
    digest = signatures.hmac_sha256_hex("TEST_APP_SECRET", b"test")
    assert signatures.hmac_sha256_hex_ok(b"test", "TEST_APP_SECRET", digest)
    assert not signatures.meta_signature_ok(b"test", "TEST_APP_SECRET", digest)
    assert not signatures.meta_signature_ok(b"test", "TEST_APP_SECRET", "sha256=not-hex")


def test_telegram_secret_token_is_compared_exactly() -> None:
    assert signatures.telegram_secret_token_ok("s3cr3t_-TOKEN", "s3cr3t_-TOKEN")
    assert not signatures.telegram_secret_token_ok("s3cr3t_-TOKEx", "s3cr3t_-TOKEN")
    assert not signatures.telegram_secret_token_ok("", "")


def test_wecom_uses_the_wechat_msg_signature() -> None:
    assert signatures.wecom_msg_signature_ok is signatures.wechat_msg_signature_ok


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def test_x_crc_response_token_follows_the_documented_formula() -> None:
    token = signatures.x_crc_response_token("consumer-secret", "challenge-123")
    assert token == "sha256=" + _b64_hmac("consumer-secret", b"challenge-123")


def test_x_delivery_signature_covers_the_body() -> None:
    body = b'{"for_user_id":"2244994945"}'
    header = "sha256=" + _b64_hmac("consumer-secret", body)
    assert signatures.x_signature_ok(body, "consumer-secret", header)
    assert not signatures.x_signature_ok(body + b" ", "consumer-secret", header)
    assert not signatures.x_signature_ok(body, "consumer-secret", _flip(header))


def test_slack_rejects_a_stale_timestamp() -> None:
    body, ts = b"payload", "1531420618"
    sig = signatures.slack_signature("secret", ts, body)
    assert signatures.slack_signature_ok(body, "secret", ts, sig, now=1531420618 + 299)
    assert not signatures.slack_signature_ok(body, "secret", ts, sig, now=1531420618 + 301)
    assert not signatures.slack_signature_ok(body, "secret", "not-a-time", sig, now=1531420618)


def test_discord_signs_timestamp_then_body() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    body, ts = b'{"type":1}', "1700000000"
    sig = key.sign(ts.encode() + body).hex()
    assert signatures.discord_signature_ok(body, public, ts, sig)
    assert not signatures.discord_signature_ok(body, public, "1700000001", sig)
    assert not signatures.discord_signature_ok(body + b" ", public, ts, sig)
    assert not signatures.discord_signature_ok(body, public, ts, "zz")


def test_twilio_json_body_checks_hash_and_url_signature() -> None:
    vectors = {v["id"]: v for v in VECTORS}
    body = vectors["twilio-json-body-hash"]["inputs"]["body"].encode()
    signed = vectors["twilio-json-body-signature"]
    url, sig = signed["inputs"]["url"], signed["expected"]["x_twilio_signature"]
    assert signatures.twilio_json_ok("12345", url, body, sig)
    assert not signatures.twilio_json_ok("12345", url, body + b" ", sig)


def test_twilio_accepts_the_url_without_its_default_port() -> None:
    vector = {v["id"]: v for v in VECTORS}["twilio-form-https-port-443"]
    params = [(name, value) for name, value in vector["inputs"]["params"]]
    sig = vector["expected"]["x_twilio_signature"]
    assert signatures.twilio_signature_ok("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params, sig)


def test_tiktok_signature_covers_timestamp_and_body() -> None:
    body, ts = b'{"event":"authorization.removed"}', "1633174587"
    digest = hmac.new(b"client-secret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    header = f"t={ts},s={digest}"
    assert signatures.tiktok_signature_ok(body, "client-secret", header, now=1633174587 + 10)
    assert not signatures.tiktok_signature_ok(body + b" ", "client-secret", header, now=1633174587 + 10)
    assert not signatures.tiktok_signature_ok(body, "client-secret", header, now=1633174587 + 3600)
    assert not signatures.tiktok_signature_ok(body, "client-secret", "garbage", now=1633174587)


def test_douyin_signature_is_sha1_of_secret_then_body() -> None:
    body = (PLATFORMS / "samples" / "douyin_verify_webhook.json").read_bytes()
    header = hashlib.sha1(b"client-secret" + body).hexdigest()  # noqa: S324 - the platform's algorithm
    assert signatures.douyin_signature_ok(body, "client-secret", header)
    assert not signatures.douyin_signature_ok(body + b" ", "client-secret", header)
    assert not signatures.douyin_signature_ok(body, "client-secret", _flip(header))

"""WXBizMsgCrypt for WeChat and WeCom: the published vectors, tampering, and round trips."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from scrm.connectors.wechat.crypto import MessageCrypto, MessageCryptoError
from scrm.connectors.wechat.payloads import parse_xml

from ..conftest import PLATFORMS, SAMPLES

VECTORS: list[dict[str, Any]] = [
    v for v in json.loads((PLATFORMS / "vectors.json").read_text(encoding="utf-8")) if v["algorithm"] == "wx_msg_crypt"
]


def crypto_for(vector: dict[str, Any]) -> MessageCrypto:
    inputs = vector["inputs"]
    return MessageCrypto(inputs["token"], inputs["encoding_aes_key"], inputs.get("appid") or inputs["corp_id"])


def random_prefix(vector: dict[str, Any]) -> bytes:
    """The 16 random bytes the sender chose, read straight from the ciphertext."""
    key = base64.b64decode(vector["inputs"]["encoding_aes_key"] + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(vector["inputs"]["encrypt"]))[:16]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_signature_and_decryption(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    crypto = crypto_for(vector)
    assert crypto.signature(inputs["timestamp"], inputs["nonce"], inputs["encrypt"]) == expected["msg_signature"]
    plain = crypto.decrypt_verified(expected["msg_signature"], inputs["timestamp"], inputs["nonce"], inputs["encrypt"])
    assert crypto.receive_id == expected["receive_id"]
    if "plaintext" in expected:
        assert plain == expected["plaintext"]
    for fragment in expected.get("plaintext_contains", []):
        assert fragment in plain


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_encrypting_with_the_same_random_gives_the_published_ciphertext(vector: dict[str, Any]) -> None:
    crypto = crypto_for(vector)
    plain = crypto.decrypt(vector["inputs"]["encrypt"])
    assert crypto.encrypt(plain, random=random_prefix(vector)) == vector["inputs"]["encrypt"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_tampered_signature_is_refused(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    with pytest.raises(MessageCryptoError):
        crypto_for(vector).decrypt_verified("0" * 40, inputs["timestamp"], inputs["nonce"], inputs["encrypt"])


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_tampered_ciphertext_is_refused(vector: dict[str, Any]) -> None:
    encrypt = vector["inputs"]["encrypt"]
    raw = bytearray(base64.b64decode(encrypt))
    raw[-20] ^= 0x01  # corrupts the last block: padding or receive id no longer check out
    with pytest.raises(MessageCryptoError):
        crypto_for(vector).decrypt(base64.b64encode(bytes(raw)).decode())


def test_a_message_for_another_app_is_refused() -> None:
    vector = VECTORS[0]
    inputs = vector["inputs"]
    other = MessageCrypto(inputs["token"], inputs["encoding_aes_key"], "wx0000000000000000")
    with pytest.raises(MessageCryptoError):
        other.decrypt(inputs["encrypt"])


def test_wecom_echostr_decrypts_to_the_text_to_answer() -> None:
    vector = next(v for v in VECTORS if v["id"] == "wecom-verify-url")
    assert crypto_for(vector).decrypt(vector["inputs"]["encrypt"]) == "1288432023552776189"


def test_wecom_sample_callback_decrypts_to_the_sample_plaintext() -> None:
    vector = next(v for v in VECTORS if v["id"] == "wecom-decrypt-xml")
    body = parse_xml((SAMPLES / "wecom_encrypted_callback.xml").read_bytes())
    plain = crypto_for(vector).decrypt(body["Encrypt"])
    assert plain == (SAMPLES / "wecom_decrypted_text_message.xml").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("message", ["", "x", "你好" * 100, "a" * 12, "b" * 44])
def test_round_trip_for_every_padding_length(message: str) -> None:
    crypto = MessageCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")
    assert crypto.decrypt(crypto.encrypt(message)) == message


def test_encrypted_reply_envelope_verifies() -> None:
    crypto = MessageCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")
    envelope = parse_xml(crypto.encrypt_reply("<xml><Content>hi</Content></xml>", "1409735669", "nonce1"))
    plain = crypto.decrypt_verified(
        envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
    )
    assert plain == "<xml><Content>hi</Content></xml>"


def test_a_malformed_key_is_refused() -> None:
    with pytest.raises(MessageCryptoError):
        MessageCrypto("token", "short", "wx1")

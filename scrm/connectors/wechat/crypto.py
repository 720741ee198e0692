"""WeChat message encryption (WXBizMsgCrypt), shared by Official Accounts (safe mode) and WeCom callbacks.

Algorithm (wechat.md a "Safe mode", wecom.md a; Tencent's WXBizMsgCrypt sample code):
``AESKey = base64(EncodingAESKey + "=")`` (43 characters → 32 bytes); AES-256-CBC with IV = the key's first
16 bytes; PKCS#7 padding to 32-byte blocks; plaintext ``random(16) | msg_len (4 bytes, big-endian) | msg |
receive_id``, where the receive id is the AppID (Official Accounts) or the CorpID (WeCom).
``msg_signature = sha1(join(sort([token, timestamp, nonce, Encrypt])))``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_BITS = 256  # PKCS#7 to 32-byte blocks, not AES's 16 (WXBizMsgCrypt PKCS7Encoder.block_size = 32)


class MessageCryptoError(ValueError):
    """An encrypted message failed its signature, padding, layout or receive-id check."""


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Return the SHA-1 hex signature of the sorted token, timestamp, nonce and ciphertext."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - the platform's algorithm


@dataclass(frozen=True)
class MessageCrypto:
    """Encrypts replies to and decrypts messages from one WeChat app or WeCom corp."""

    token: str
    encoding_aes_key: str
    receive_id: str
    _key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.encoding_aes_key) != 43:
            raise MessageCryptoError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(self.encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise MessageCryptoError("EncodingAESKey is not base64") from exc
        object.__setattr__(self, "_key", key)

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """Return the ``msg_signature`` of a ciphertext under this app's token."""
        return msg_signature(self.token, timestamp, nonce, encrypt)

    def decrypt(self, encrypt: str) -> str:
        """Decrypt an ``Encrypt`` value and return the message, checking it was meant for this receive id."""
        decryptor = self._cipher().decryptor()
        try:
            padded = decryptor.update(base64.b64decode(encrypt, validate=True)) + decryptor.finalize()
            unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
            plain = unpadder.update(padded) + unpadder.finalize()
        except (binascii.Error, ValueError) as exc:
            raise MessageCryptoError("ciphertext does not decrypt") from exc
        if len(plain) < 20:
            raise MessageCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise MessageCryptoError("message was not addressed to this receive id")
        return message.decode()

    def decrypt_verified(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """Check ``msg_signature`` in constant time, then decrypt."""
        if not hmac.compare_digest(self.signature(timestamp, nonce, encrypt), signature):
            raise MessageCryptoError("msg_signature does not match")
        return self.decrypt(encrypt)

    def encrypt(self, message: str, random: bytes | None = None) -> str:
        """Encrypt a message for this receive id and return it as base64 (the ``Encrypt`` value)."""
        nonce_bytes = secrets.token_bytes(16) if random is None else random
        if len(nonce_bytes) != 16:
            raise MessageCryptoError("the random prefix must be 16 bytes")
        body = message.encode()
        plain = nonce_bytes + struct.pack(">I", len(body)) + body + self.receive_id.encode()
        padder = padding.PKCS7(BLOCK_BITS).padder()
        encryptor = self._cipher().encryptor()
        padded = padder.update(plain) + padder.finalize()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()

    def encrypt_reply(self, message: str, timestamp: str, nonce: str, random: bytes | None = None) -> str:
        """Return the encrypted passive-reply XML envelope (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        encrypt = self.encrypt(message, random)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{self.signature(timestamp, nonce, encrypt)}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

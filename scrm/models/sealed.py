"""Sealed secrets: values encrypted at rest with AES-256-GCM under a key derived from `SCRM_SECRET_KEY`.

A sealed value reads `scrm1:<key id>:<base64 of nonce + ciphertext + tag>`. The key id names the key that
sealed it, so a wrong `SCRM_SECRET_KEY` is reported as such instead of producing garbage, and key rotation
knows which values still need re-sealing. Each value is bound to where it is stored (its *context*, such as
workspace, channel and field) as associated data: a ciphertext copied elsewhere does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "scrm1"
NONCE_BYTES = 12


class SecretKeyError(RuntimeError):
    """Sealed values cannot be opened or made: the message says what is wrong with `SCRM_SECRET_KEY`."""


class SecretKeyMissing(SecretKeyError):
    """`SCRM_SECRET_KEY` is not set, so no secret can be sealed or opened."""


class SecretKeyMismatch(SecretKeyError):
    """The value was sealed with a different `SCRM_SECRET_KEY` than the one in use."""


class SealedValueCorrupt(SecretKeyError):
    """The value is not a sealed value, was altered, or was moved from where it was sealed."""


@dataclass(frozen=True, slots=True)
class SecretBox:
    """Seals and opens secrets with one key; build it with `SecretBox.from_secret_key(settings.secret_key)`."""

    key: bytes
    key_id: str

    @classmethod
    def from_secret_key(cls, secret_key: str | None) -> SecretBox:
        """The box for this `SCRM_SECRET_KEY`; SecretKeyMissing when none is set."""
        if not secret_key:
            raise SecretKeyMissing(
                "SCRM_SECRET_KEY is not set: channel credentials are encrypted with it. Set it to a long random "
                "value (for example the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
            )
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"scrm secrets at rest", info=b"aes-256-gcm v1")
        key = hkdf.derive(secret_key.encode("utf-8"))
        return cls(key=key, key_id=hashlib.sha256(b"scrm key id" + key).hexdigest()[:12])

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt and authenticate `plaintext`, bound to `context`."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{VERSION}:{self.key_id}:{base64.b64encode(nonce + ciphertext).decode('ascii')}"

    def open(self, sealed: str, context: str) -> str:
        """The plaintext of a value sealed by this key for this context; raises a SecretKeyError otherwise."""
        key_id, blob = _split(sealed)
        if key_id != self.key_id:
            raise SecretKeyMismatch(
                f"This secret was sealed with another SCRM_SECRET_KEY (key id {key_id}; the current key's id is "
                f"{self.key_id}). Start scrm with the key it was sealed with, or re-seal it with "
                "`scrm secrets rotate --from-key <old key>`."
            )
        try:
            plaintext = AESGCM(self.key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode("utf-8"))
        except InvalidTag:
            raise SealedValueCorrupt("A sealed secret failed its integrity check: it was altered or moved") from None
        return plaintext.decode("utf-8")

    def is_sealed_by(self, sealed: str) -> bool:
        """True when the value was sealed by this key (so rotation can skip it)."""
        return sealed_key_id(sealed) == self.key_id


def sealed_key_id(sealed: str) -> str:
    """The id of the key that sealed a value; SealedValueCorrupt when it is not a sealed value."""
    return _split(sealed)[0]


def _split(sealed: str) -> tuple[str, bytes]:
    version, _, rest = sealed.partition(":")
    key_id, _, encoded = rest.partition(":")
    if version != VERSION or not key_id or not encoded:
        raise SealedValueCorrupt("This is not a sealed secret (it may have been stored in plain text)")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SealedValueCorrupt("A sealed secret is not valid base64") from None
    if len(blob) <= NONCE_BYTES + 16:
        raise SealedValueCorrupt("A sealed secret is too short to hold a nonce and a tag")
    return key_id, blob

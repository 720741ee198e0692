"""Second factor: TOTP codes (RFC 6238, via pyotp) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp

ISSUER = "scrm"
RECOVERY_CODES = 10
# Accept the code of the previous and next 30-second step too: phone clocks drift.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The `otpauth://` address an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at `now`."""
    return pyotp.TOTP(secret).at(now)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code` (within the allowed drift), or None when it matches none."""
    totp = pyotp.TOTP(secret)
    digits = code.strip().replace(" ", "")
    step = totp.timecode(now)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step + offset), digits):
            return step + offset
    return None


def new_recovery_codes() -> list[str]:
    """Ten fresh recovery codes, each like `k7f3q-9xw2m`."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = ("".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES))
    return [f"{code[:5]}-{code[5:]}" for code in raw]


def recovery_code_hash(code: str) -> str:
    """What is stored of a recovery code (they are random, so a plain SHA-256 suffices)."""
    return hashlib.sha256(code.strip().lower().replace(" ", "").encode("utf-8")).hexdigest()

"""Turning TOTP two-factor login on and off for one user, with recovery codes shown once."""

from __future__ import annotations

from datetime import datetime

from scrm.auth import audit
from scrm.auth.accounts import memberships_of
from scrm.auth.passwords import verify_password
from scrm.auth.totp import matching_step, new_recovery_codes, new_secret, recovery_code_hash
from scrm.models import AuditAction, User


class SecondFactorError(ValueError):
    """The second factor cannot be turned on or off; the message says why."""


async def start_setup(user: User) -> str:
    """A new TOTP secret for the user to enter in an authenticator; it takes effect only once confirmed."""
    if user.totp_enabled:
        raise SecondFactorError("Two-factor login is already on")
    secret = new_secret()
    await user.set({User.totp_secret: secret})
    return secret


async def confirm_setup(user: User, code: str, now: datetime) -> list[str]:
    """Turn two-factor login on when `code` matches the pending secret; returns the recovery codes (shown once)."""
    step = matching_step(user.totp_secret, code, now) if user.totp_secret and not user.totp_enabled else None
    if step is None:
        raise SecondFactorError("That code does not match; check the authenticator app's clock and try again")
    codes = new_recovery_codes()
    await user.set(
        {
            User.totp_enabled: True,
            User.totp_last_step: step,
            User.recovery_code_hashes: [recovery_code_hash(c) for c in codes],
        }
    )
    await _record(user, AuditAction.SECOND_FACTOR_ENABLED, now)
    return codes


async def disable(user: User, password: str, now: datetime) -> None:
    """Turn two-factor login off, after checking the password again."""
    if not verify_password(user.password_hash, password):
        raise SecondFactorError("The password is not correct")
    await user.set(
        {User.totp_enabled: False, User.totp_secret: None, User.recovery_code_hashes: [], User.totp_last_step: 0}
    )
    await _record(user, AuditAction.SECOND_FACTOR_DISABLED, now)


async def _record(user: User, action: AuditAction, now: datetime) -> None:
    assert user.id is not None
    for member in await memberships_of(user.id):
        await audit.record(action, f"user:{user.id}", now, workspace_id=member.workspace_id, target=user.email)

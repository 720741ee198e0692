"""Logging in: password, then the second factor when enabled, with lockout after repeated failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.auth.accounts import find_user, memberships_of, normalize_email
from scrm.auth.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from scrm.auth.ratelimit import forget, hit, peek
from scrm.auth.sessions import open_session, renew_session
from scrm.auth.totp import matching_step, recovery_code_hash
from scrm.models import AuditAction, LoginSession, User

FAILURE_WINDOW = timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_ADDRESS = 30


@dataclass(frozen=True, slots=True)
class Client:
    """Where a login attempt comes from."""

    ip: str = ""
    user_agent: str = ""


class LoginRefused(Exception):
    """The attempt failed: `invalid` credentials, a wrong `code`, or `locked` for `retry_after` seconds."""

    def __init__(self, reason: Literal["invalid", "code", "locked"], retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LoginStarted:
    """A session after a correct password; with a second factor, it opens nothing until the code is given."""

    session: LoginSession
    token: str
    second_factor_required: bool


def _keys(email: str, client: Client) -> tuple[tuple[str, int], ...]:
    return (
        (f"login:email:{normalize_email(email)}", FAILURES_PER_EMAIL),
        (f"login:ip:{client.ip}", FAILURES_PER_ADDRESS),
    )


async def _refuse_when_locked(email: str, client: Client, now: datetime) -> None:
    for key, limit in _keys(email, client):
        decision = await peek(key, limit, FAILURE_WINDOW, now)
        if decision.hits >= limit:
            raise LoginRefused("locked", decision.retry_after(now))


async def _count_failure(email: str, client: Client, now: datetime) -> None:
    for key, limit in _keys(email, client):
        await hit(key, limit, FAILURE_WINDOW, now)


async def _record(
    action: AuditAction, user: User | None, email: str, client: Client, now: datetime, **details: Any
) -> None:
    """One audit entry in each workspace of the user, so that each workspace's admins see it."""
    workspaces: list[PydanticObjectId | None] = (
        [m.workspace_id for m in await memberships_of(user.id)] if user and user.id else []
    )
    actor = f"user:{user.id}" if user else "anonymous"
    for workspace_id in workspaces or [None]:
        await audit.record(
            action, actor, now, workspace_id=workspace_id, target=normalize_email(email), ip=client.ip, details=details
        )


async def log_in(email: str, password: str, client: Client, now: datetime) -> LoginStarted:
    """Check the password and open a session; LoginRefused when wrong or locked (checked before the password)."""
    await _refuse_when_locked(email, client, now)
    user = await find_user(email)
    password_ok = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or user.id is None or user.disabled or not password_ok:
        await _count_failure(email, client, now)
        await _record(AuditAction.LOGIN_FAILED, user, email, client, now, stage="password")
        raise LoginRefused("invalid")
    await forget(_keys(email, client)[0][0])
    if needs_rehash(user.password_hash):
        await user.set({User.password_hash: hash_password(password)})
    memberships = await memberships_of(user.id)
    workspace_id = memberships[0].workspace_id if memberships else None
    session, token = await open_session(
        user.id, workspace_id, now, second_factor_pending=user.totp_enabled, ip=client.ip, user_agent=client.user_agent
    )
    if not user.totp_enabled:
        await _record(AuditAction.LOGIN, user, email, client, now, second_factor="none")
    return LoginStarted(session=session, token=token, second_factor_required=user.totp_enabled)


async def pass_second_factor(
    session: LoginSession, code: str, client: Client, now: datetime
) -> tuple[LoginSession, str]:
    """Accept a TOTP code or a recovery code for a pending session; returns the renewed session and its token."""
    user = await User.get(session.user_id)
    if user is None:
        raise LoginRefused("invalid")
    await _refuse_when_locked(user.email, client, now)
    method = await _use_totp(user, code, now) or await _use_recovery_code(user, code)
    if method is None:
        await _count_failure(user.email, client, now)
        await _record(AuditAction.LOGIN_FAILED, user, user.email, client, now, stage="second factor")
        raise LoginRefused("code")
    await forget(_keys(user.email, client)[0][0])
    renewed = await renew_session(session, now)
    await _record(AuditAction.LOGIN, user, user.email, client, now, second_factor=method)
    return renewed


async def _use_totp(user: User, code: str, now: datetime) -> str | None:
    """`totp` when the code is right and its time step was never used before (no replay), else None."""
    if not user.totp_secret:
        return None
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return None
    result = await User.get_pymongo_collection().update_one(
        {"_id": user.id, "totp_last_step": {"$lt": step}}, {"$set": {"totp_last_step": step}}
    )
    return "totp" if result.modified_count == 1 else None


async def _use_recovery_code(user: User, code: str) -> str | None:
    """`recovery code` when the code is one of the user's unused ones (it is used up), else None."""
    digest = recovery_code_hash(code)
    if digest not in user.recovery_code_hashes:
        return None
    result = await User.get_pymongo_collection().update_one(
        {"_id": user.id, "recovery_code_hashes": digest}, {"$pull": {"recovery_code_hashes": digest}}
    )
    return "recovery code" if result.modified_count == 1 else None

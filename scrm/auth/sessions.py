"""Browser sessions kept in MongoDB: open, look up (with expiry), close one, close all of a user's."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from beanie import PydanticObjectId

from scrm.models import LoginSession

LIFETIME = timedelta(days=7)
IDLE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """What is stored of a session token: its SHA-256 (the token itself is random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def open_session(
    user_id: PydanticObjectId,
    workspace_id: PydanticObjectId | None,
    now: datetime,
    *,
    second_factor_pending: bool,
    ip: str = "",
    user_agent: str = "",
) -> tuple[LoginSession, str]:
    """A new session and the token for its cookie (shown only here)."""
    token = secrets.token_urlsafe(32)
    session = LoginSession(
        token_hash=token_hash(token),
        user_id=user_id,
        workspace_id=workspace_id,
        csrf_token=secrets.token_urlsafe(32),
        second_factor_pending=second_factor_pending,
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
        ip=ip,
        user_agent=user_agent[:300],
    )
    await session.insert()
    return session, token


def is_live(session: LoginSession, now: datetime) -> bool:
    """Is the session neither past its lifetime nor idle for longer than IDLE_TIMEOUT?"""
    return now < session.expires_at and now < session.last_seen_at + IDLE_TIMEOUT


async def find_session(token: str, now: datetime) -> LoginSession | None:
    """The live session of this cookie token (marking it seen), or None; an expired one is removed."""
    session = await LoginSession.find_one({"token_hash": token_hash(token)})
    if session is None:
        return None
    if not is_live(session, now):
        await session.delete()
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        await session.set({LoginSession.last_seen_at: now})
    return session


async def renew_session(session: LoginSession, now: datetime) -> tuple[LoginSession, str]:
    """Replace the session by a new one without a pending second factor (a new token: no fixation)."""
    await session.delete()
    return await open_session(
        session.user_id,
        session.workspace_id,
        now,
        second_factor_pending=False,
        ip=session.ip,
        user_agent=session.user_agent,
    )


async def switch_workspace(session: LoginSession, workspace_id: PydanticObjectId) -> None:
    """Make the session work in another workspace (the caller checked the membership)."""
    session.workspace_id = workspace_id
    await session.set({LoginSession.workspace_id: workspace_id})


async def end_session(session: LoginSession) -> None:
    """Log this browser out."""
    await session.delete()


async def end_all_sessions(user_id: PydanticObjectId) -> int:
    """Log the user out everywhere; returns how many sessions ended."""
    result = await LoginSession.find({"user_id": user_id}).delete()
    return result.deleted_count if result else 0

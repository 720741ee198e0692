"""LoginSession: one signed-in browser, kept server-side; the cookie holds only a random token."""

from __future__ import annotations

from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import utcnow


class LoginSession(Document):
    """A browser session: the token's hash, whose it is, which workspace it works in, and when it ends.

    `second_factor_pending` sessions have passed the password but not yet the TOTP code: they open no page
    except the code form. MongoDB's TTL monitor removes sessions after `expires_at`.
    """

    token_hash: str
    user_id: PydanticObjectId
    workspace_id: PydanticObjectId | None = None
    csrf_token: str
    second_factor_pending: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ip: str = ""
    user_agent: str = ""

    class Settings:
        name = "login_sessions"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_unique"),
            IndexModel([("user_id", ASCENDING)], name="user"),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
        ]

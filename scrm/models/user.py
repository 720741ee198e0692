"""User and Membership: a person who logs in, and their role in each workspace they belong to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument, utcnow


class Role(StrEnum):
    """What a member may do in a workspace, from the most to the least powerful."""

    OWNER = "owner"
    ADMIN = "admin"
    MARKETER = "marketer"
    AGENT = "agent"
    VIEWER = "viewer"


class User(Document):
    """A person with a login; belongs to workspaces through memberships, never to one workspace alone."""

    email: str
    password_hash: str
    display_name: str = ""
    language: str | None = None
    disabled: bool = False
    totp_secret: str | None = None
    totp_enabled: bool = False
    totp_last_step: int = 0
    recovery_code_hashes: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "users"
        indexes = [IndexModel([("email", ASCENDING)], unique=True, name="email_unique")]


class Membership(WorkspaceDocument):
    """One user's role in one workspace; agents see only the channels and teams listed here."""

    user_id: PydanticObjectId
    role: Role
    channel_ids: list[PydanticObjectId] = Field(default_factory=list)
    team_ids: list[PydanticObjectId] = Field(default_factory=list)

    class Settings:
        name = "memberships"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="member_unique"),
            IndexModel([("user_id", ASCENDING)], name="user"),
        ]

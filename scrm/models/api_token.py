"""ApiToken: a bearer token for `/api/v1`, created in one workspace with one role, stored only as a hash."""

from __future__ import annotations

from datetime import datetime

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument
from scrm.models.user import Role


class ApiToken(WorkspaceDocument):
    """A machine credential: shown once at creation, then known only by its hash and its first characters."""

    name: str
    role: Role
    token_hash: str
    prefix: str
    channel_ids: list[PydanticObjectId] = Field(default_factory=list)
    team_ids: list[PydanticObjectId] = Field(default_factory=list)
    created_by: str = ""
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    class Settings:
        name = "api_tokens"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_unique"),
            IndexModel([("workspace_id", ASCENDING), ("created_at", ASCENDING)], name="workspace_created"),
        ]

"""What every tenant-owned document shares: its workspace and its creation time."""

from __future__ import annotations

from datetime import UTC, datetime

from beanie import Document, PydanticObjectId
from pydantic import Field


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (MongoDB stores milliseconds, UTC)."""
    return datetime.now(UTC)


class WorkspaceDocument(Document):
    """A document that belongs to exactly one workspace (tenant)."""

    workspace_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)

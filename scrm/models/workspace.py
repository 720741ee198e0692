"""Workspace: one tenant, the owner of every other document."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import utcnow


class Workspace(Document):
    """A company or team using scrm; everything else carries its id."""

    name: str
    display_name: str = ""
    timezone: str = "UTC"
    locale: str = "en"
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "workspaces"
        indexes = [IndexModel([("name", ASCENDING)], unique=True, name="name_unique")]

"""Workspace: one tenant, the owner of every other document."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import utcnow
from scrm.models.csat import CsatSettings


class Workspace(Document):
    """A company or team using scrm; everything else carries its id."""

    name: str
    display_name: str = ""
    timezone: str = "UTC"
    locale: str = "en"
    csat: CsatSettings = Field(default_factory=CsatSettings)
    """The satisfaction survey sent on resolve (off until an admin turns it on)."""
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "workspaces"
        indexes = [IndexModel([("name", ASCENDING)], unique=True, name="name_unique")]

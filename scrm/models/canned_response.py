"""CannedResponse: a saved reply the team reuses in the inbox."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class CannedResponse(WorkspaceDocument):
    """A reply text saved under a short name (`shipping-times`), unique in its workspace."""

    name: str
    text: str
    created_by: str = ""

    class Settings:
        name = "canned_responses"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)], unique=True, name="name_unique"),
        ]

"""CannedResponse: a saved reply the team (or one member) reuses in the inbox."""

from __future__ import annotations

from beanie import PydanticObjectId
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class CannedResponse(WorkspaceDocument):
    """A reply text saved under a shortcode (`shipping-times`).

    `owner_user_id` None: the whole workspace's; set: personal, seen only by that user (or API token). The name is
    unique per workspace and owner, so a member's personal `/thanks` may sit beside the workspace's. `language` is
    `en`, `zh-CN`, or None for any contact. The text may hold variables such as `{contact.name}`.
    """

    name: str
    text: str
    created_by: str = ""
    owner_user_id: PydanticObjectId | None = None
    language: str | None = None

    class Settings:
        name = "canned_responses"
        indexes = [
            IndexModel(
                [("workspace_id", ASCENDING), ("owner_user_id", ASCENDING), ("name", ASCENDING)],
                unique=True,
                name="owner_name_unique",
            ),
        ]

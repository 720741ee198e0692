"""Follow: a contact followed or unfollowed one of our accounts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class FollowKind(StrEnum):
    """A follow or an unfollow; both are kept, so the history of a relationship can be read back."""

    FOLLOW = "follow"
    UNFOLLOW = "unfollow"


class Follow(WorkspaceDocument):
    """One follow or unfollow event, with the source (e.g. the scene of a WeChat QR code) when known."""

    channel_id: PydanticObjectId
    contact_id: PydanticObjectId
    platform: str
    external_id: str
    kind: FollowKind
    at: datetime
    source: str = ""
    handled_at: datetime | None = None
    """When the pipeline finished with it (tagged, journeys run); None: a replay must finish the job."""

    class Settings:
        name = "follows"
        indexes = [
            IndexModel(
                [("platform", ASCENDING), ("channel_id", ASCENDING), ("external_id", ASCENDING)],
                unique=True,
                name="external_unique",
            ),
            IndexModel([("workspace_id", ASCENDING), ("contact_id", ASCENDING), ("at", DESCENDING)], name="contact"),
        ]

"""Post and Comment: public content on a page or account, and the public replies under it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument
from scrm.models.message import Attachment


def _tag_indexes() -> list[IndexModel]:
    """For the API's sentiment and intent filters, newest first."""
    return [
        IndexModel([("workspace_id", ASCENDING), (f"tags.{task}", ASCENDING), ("_id", DESCENDING)], name=task)
        for task in ("sentiment", "intent")
    ]


def _external_unique() -> IndexModel:
    return IndexModel(
        [("platform", ASCENDING), ("channel_id", ASCENDING), ("external_id", ASCENDING)],
        unique=True,
        name="external_unique",
    )


class Post(WorkspaceDocument):
    """A post on a Page, a tweet, an Instagram media, an article pushed by an Official Account."""

    channel_id: PydanticObjectId
    platform: str
    external_id: str
    author_contact_id: PydanticObjectId | None = None
    text: str = ""
    url: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    published_at: datetime
    metrics: dict[str, int] = Field(default_factory=dict)
    tags: dict[str, Any] | None = None
    handled_at: datetime | None = None
    """When the pipeline finished with it (tagged, journeys run); None: a replay must finish the job."""

    class Settings:
        name = "posts"
        indexes = [
            _external_unique(),
            IndexModel([("workspace_id", ASCENDING), ("published_at", DESCENDING)], name="workspace_recent"),
            *_tag_indexes(),
        ]


class Comment(WorkspaceDocument):
    """A public comment (or reply to a comment) under a post, written by a contact or by us."""

    channel_id: PydanticObjectId
    platform: str
    external_id: str
    post_external_id: str
    post_id: PydanticObjectId | None = None
    parent_external_id: str | None = None
    contact_id: PydanticObjectId | None = None
    from_us: bool = False
    text: str = ""
    created_time: datetime
    hidden: bool = False
    tags: dict[str, Any] | None = None
    handled_at: datetime | None = None

    class Settings:
        name = "comments"
        indexes = [
            _external_unique(),
            IndexModel([("post_id", ASCENDING), ("created_time", ASCENDING)], name="post_thread"),
            IndexModel([("workspace_id", ASCENDING), ("created_time", DESCENDING)], name="workspace_recent"),
            IndexModel(  # a contact's timeline
                [
                    ("workspace_id", ASCENDING),
                    ("contact_id", ASCENDING),
                    ("created_time", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="contact_time",
            ),
            *_tag_indexes(),
        ]

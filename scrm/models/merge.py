"""Contact merging: suggestions that two contacts are one person, and records of merges that can be undone."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class SuggestionStatus(StrEnum):
    """Where a merge suggestion stands: waiting for a person, merged, or turned down."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


class MergeSuggestion(WorkspaceDocument):
    """Two contacts of one workspace that are probably the same person, offered for a merge and never merged alone.

    The pair is unordered and stored sorted (`first_id` < `second_id`, so the older contact comes first): the
    unique index makes a suggestion for the same two contacts, from either side, a no-op at the database.
    """

    first_id: PydanticObjectId
    second_id: PydanticObjectId
    reason: str
    status: SuggestionStatus = SuggestionStatus.OPEN
    decided_at: datetime | None = None
    decided_by: str = ""

    class Settings:
        name = "merge_suggestions"
        indexes = [
            IndexModel(
                [("workspace_id", ASCENDING), ("first_id", ASCENDING), ("second_id", ASCENDING)],
                unique=True,
                name="pair_unique",
            ),
            IndexModel([("workspace_id", ASCENDING), ("status", ASCENDING), ("_id", DESCENDING)], name="by_status"),
            IndexModel([("workspace_id", ASCENDING), ("second_id", ASCENDING)], name="second"),
        ]


class MergeRecord(WorkspaceDocument):
    """One merge of a contact into another, keeping exactly what unmerge needs to put both back.

    `merged_before` is the merged contact's stored document as it was; `moved` names, per collection, the
    documents repointed to the survivor; `survivor_before`/`survivor_after` hold the survivor's fields the merge
    changed, so unmerge restores a field only when nobody changed it since.
    """

    survivor_id: PydanticObjectId
    merged_id: PydanticObjectId
    actor: str
    suggestion_id: PydanticObjectId | None = None
    identity_keys: list[str] = Field(default_factory=list)
    merged_before: dict[str, Any] = Field(default_factory=dict)
    survivor_before: dict[str, Any] = Field(default_factory=dict)
    survivor_after: dict[str, Any] = Field(default_factory=dict)
    moved: dict[str, list[PydanticObjectId]] = Field(default_factory=dict)
    undone_at: datetime | None = None
    undone_by: str = ""

    class Settings:
        name = "contact_merges"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("merged_id", ASCENDING), ("_id", DESCENDING)], name="merged"),
            IndexModel([("workspace_id", ASCENDING), ("survivor_id", ASCENDING), ("_id", DESCENDING)], name="survivor"),
        ]

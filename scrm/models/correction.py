"""TagCorrection: a person changed the sentiment or intent the tagger gave a message — training data for later."""

from __future__ import annotations

from datetime import datetime

from beanie import PydanticObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument


class TagCorrection(WorkspaceDocument):
    """One correction: the text, the task (sentiment or intent), what the model said and what the person said."""

    message_id: PydanticObjectId
    task: str
    text: str
    predicted: str
    label: str
    corrected_by: str
    corrected_at: datetime
    model_version: str = ""

    class Settings:
        name = "tag_corrections"
        indexes = [
            IndexModel([("message_id", ASCENDING), ("task", ASCENDING)], unique=True, name="message_task_unique"),
            IndexModel([("task", ASCENDING), ("corrected_at", DESCENDING)], name="task_recent"),
        ]

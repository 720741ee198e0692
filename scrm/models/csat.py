"""CSAT: the satisfaction survey sent when a conversation is resolved, its answer, and the workspace's settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import WorkspaceDocument

DEFAULT_QUESTION_EN = (
    "How satisfied are you with our help? Reply with a number from 1 (very unhappy) to 5 (very happy)."
)
DEFAULT_QUESTION_ZH = "您对我们的服务满意吗？请回复 1（非常不满意）到 5（非常满意）之间的数字。"


class CsatSettings(BaseModel):
    """Whether resolving a conversation sends the survey, and its question in English and Chinese."""

    enabled: bool = False
    question_en: str = DEFAULT_QUESTION_EN
    question_zh: str = DEFAULT_QUESTION_ZH


class SurveyStatus(StrEnum):
    """Sent (queued in the outbox), answered, or skipped because the channel could not send it."""

    SENT = "sent"
    ANSWERED = "answered"
    SKIPPED = "skipped"


class CsatSurvey(WorkspaceDocument):
    """One survey of one resolution of a conversation: sent (or skipped, with the reason) and maybe answered."""

    key: str
    """Conversation + resolution: the outbox dedupe key too, so a double resolve records and sends once."""
    conversation_id: PydanticObjectId
    contact_id: PydanticObjectId
    channel_id: PydanticObjectId
    platform: str
    status: SurveyStatus = SurveyStatus.SENT
    skipped_reason: str = ""
    outbound_id: PydanticObjectId | None = None
    language: str = "en"
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    rating: int | None = None
    comment: str = ""
    answered_at: datetime | None = None
    answer_message_id: PydanticObjectId | None = None

    class Settings:
        name = "csat_surveys"
        indexes = [
            IndexModel([("key", ASCENDING)], unique=True, name="key_unique"),
            IndexModel(
                [("workspace_id", ASCENDING), ("conversation_id", ASCENDING), ("created_at", DESCENDING)],
                name="workspace_conversation",
            ),
            IndexModel([("workspace_id", ASCENDING), ("created_at", DESCENDING)], name="workspace_recent"),
            IndexModel([("conversation_id", ASCENDING), ("status", ASCENDING)], name="conversation_status"),
        ]

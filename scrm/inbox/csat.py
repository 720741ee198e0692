"""CSAT: ask the customer for a rating when their conversation is resolved, and keep the answer.

Resolving (one conversation or many) offers a survey: when the workspace turned surveys on and the channel can
still send a free-form message (the platform's messaging window is open, the platform sends private messages
at all), one outbox row is queued with the survey's key as its dedupe key, so a double resolve (a double
click, two agents, a retried request) sends once. A channel that cannot send gets a survey row marked
`skipped` with the reason, which the API shows. The key is the conversation and its last inbound message
time: a resolution after the customer wrote again is a new one and is asked again; a resolution with nothing
new from the customer since the last survey (or its answer) is not.

The customer's reply that is a rating (`csat_ratings.parse_rating`) to a survey still open answers it. Ingest
asks `answering_conversations` first, so that reply does not reopen the resolved conversation; the arrival
step `record_answers` then stores the rating (idempotent: a survey takes one answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument

from scrm import messaging_windows
from scrm.connectors.base import Capability, Reply
from scrm.connectors.registry import CONNECTORS
from scrm.events import Event, MessageReceived
from scrm.inbox.csat_ratings import is_bare_rating, parse_rating
from scrm.models import (
    Contact,
    Conversation,
    ConversationStatus,
    CsatSettings,
    CsatSurvey,
    SurveyStatus,
    Workspace,
    WorkspaceScope,
    across_workspaces,
)
from scrm.outbox import Outgoing, Source, enqueue

SURVEY_OPEN_FOR = timedelta(days=2)
"""A rating later than this after the survey is taken for an ordinary message (and reopens the conversation)."""
MAX_QUESTION_LENGTH = 500


class CsatInputError(ValueError):
    """Survey settings that cannot be saved as given; the message says why."""


async def csat_settings(workspace_id: PydanticObjectId) -> CsatSettings:
    """The workspace's survey settings (off, with the default bilingual question, until someone changes them)."""
    workspace = await Workspace.get(workspace_id)
    return workspace.csat if workspace is not None else CsatSettings()


async def save_csat_settings(workspace_id: PydanticObjectId, wanted: CsatSettings) -> CsatSettings:
    """Store the survey settings; each question has 1 to MAX_QUESTION_LENGTH characters."""
    cleaned = CsatSettings(
        enabled=wanted.enabled, question_en=wanted.question_en.strip(), question_zh=wanted.question_zh.strip()
    )
    for question in (cleaned.question_en, cleaned.question_zh):
        if not question or len(question) > MAX_QUESTION_LENGTH:
            raise CsatInputError(f"A survey question has 1 to {MAX_QUESTION_LENGTH} characters")
    await Workspace.get_pymongo_collection().update_one({"_id": workspace_id}, {"$set": {"csat": cleaned.model_dump()}})
    return cleaned


def cannot_send_reason(conversation: Conversation, now: datetime) -> str | None:
    """Why the channel cannot send the survey now (comments only, messaging window closed), or None."""
    capabilities = {connector.platform: connector.capabilities for connector in CONNECTORS}
    if Capability.REPLY not in capabilities.get(conversation.platform, frozenset()):
        return f"the {conversation.platform} channel cannot send private messages"
    probe = Reply(to=conversation.external_id, text="")
    return messaging_windows.closed_reason(conversation.platform, probe, conversation.last_inbound_at, now)


def survey_key(conversation: Conversation) -> str:
    """One key per conversation and resolution: the conversation and the time the customer last wrote."""
    last = conversation.last_inbound_at
    return f"csat:{conversation.id}:{int(last.timestamp() * 1000) if last else 'never'}"


async def offer_surveys(
    conversation_ids: Iterable[PydanticObjectId], scope: WorkspaceScope, now: datetime, reach: Mapping[str, Any]
) -> list[CsatSurvey]:
    """Offer the survey for every one of these conversations within `reach` that is resolved (a bulk resolve)."""
    settings = await csat_settings(scope.workspace_id)
    if not settings.enabled:
        return []
    resolved = {"_id": {"$in": list(conversation_ids)}, "status": ConversationStatus.RESOLVED.value}
    surveys = []
    for conversation in await scope.find(Conversation, resolved, reach).to_list():
        survey = await _offer(conversation, settings, scope, now)
        if survey is not None:
            surveys.append(survey)
    return surveys


async def offer_survey(conversation: Conversation, now: datetime) -> CsatSurvey | None:
    """Offer the survey after a conversation was resolved: the survey sent or skipped, or None when not asked."""
    if conversation.status is not ConversationStatus.RESOLVED:
        return None
    settings = await csat_settings(conversation.workspace_id)
    if not settings.enabled:
        return None
    return await _offer(conversation, settings, WorkspaceScope(conversation.workspace_id), now)


async def _offer(
    conversation: Conversation, settings: CsatSettings, scope: WorkspaceScope, now: datetime
) -> CsatSurvey | None:
    """Queue (or skip, with the reason) this resolution's survey; the survey already asked when nothing is new.

    Idempotent: the outbox row and the survey row are both keyed on `survey_key`, the row first, so a crash
    in between is completed by the next resolve and never sends twice.
    """
    assert conversation.id is not None
    latest = await latest_survey(scope, conversation.id)
    if latest is not None and not _customer_wrote_since(conversation, latest):
        return latest
    key = survey_key(conversation)
    contact = await scope.find_one(Contact, {"_id": conversation.contact_id})
    reason = "the contact is blocked" if contact is not None and contact.blocked else None
    reason = reason or cannot_send_reason(conversation, now)
    language = _language(conversation, contact)
    fields: dict[str, Any] = {"status": SurveyStatus.SKIPPED.value, "skipped_reason": reason}
    if reason is None:
        question = settings.question_zh if language == "zh-CN" else settings.question_en
        row = await enqueue(
            Outgoing(
                workspace_id=conversation.workspace_id,
                channel_id=conversation.channel_id,
                contact_id=conversation.contact_id,
                source=Source.INBOX,
                dedupe_key=key,
                text=question,
                conversation_id=conversation.id,
                extra={"author": "csat", "csat_survey": key},
            ),
            now,
        )
        fields = {"status": SurveyStatus.SENT.value, "outbound_id": row.id, "sent_at": row.created_at}
        fields["expires_at"] = row.created_at + SURVEY_OPEN_FOR
    document = {
        "_id": ObjectId(),
        "workspace_id": conversation.workspace_id,
        "created_at": now,
        "conversation_id": conversation.id,
        "contact_id": conversation.contact_id,
        "channel_id": conversation.channel_id,
        "platform": conversation.platform,
        "language": language,
        "rating": None,
        "comment": "",
        "answered_at": None,
        "answer_message_id": None,
        **fields,
    }
    stored = await CsatSurvey.get_pymongo_collection().find_one_and_update(
        {"key": key}, {"$setOnInsert": document}, upsert=True, return_document=ReturnDocument.AFTER
    )
    survey: CsatSurvey = CsatSurvey.model_validate(stored)
    return survey


def _customer_wrote_since(conversation: Conversation, survey: CsatSurvey) -> bool:
    """Did the customer write after the survey was asked (or answered)? Their answer itself does not count."""
    last = conversation.last_inbound_at
    if last is None:
        return False
    asked = max(survey.created_at, survey.answered_at or survey.created_at)
    return last > asked


def _language(conversation: Conversation, contact: Contact | None) -> str:
    """The survey's language: the contact's, else the language of their latest tagged message; English else."""
    spoken = (contact.language if contact else None) or (
        conversation.latest_tags.language if conversation.latest_tags else None
    )
    return "zh-CN" if spoken and spoken.lower().startswith("zh") else "en"


async def latest_survey(scope: WorkspaceScope, conversation_id: PydanticObjectId) -> CsatSurvey | None:
    """The conversation's most recent survey (sent, answered or skipped), or None."""
    found = await scope.find(CsatSurvey, {"conversation_id": conversation_id}).sort("-created_at").limit(1).to_list()
    return found[0] if found else None


async def answering_conversations(
    messages: Sequence[tuple[PydanticObjectId, PydanticObjectId, str]], now: datetime
) -> set[PydanticObjectId]:
    """The conversations among `(conversation id, message id, text)` whose messages all rate an open survey.

    A conversation with any other message among them is left out (that message reopens it). A survey these
    very messages answered already counts too, so a batch replayed after a crash leaves the conversation as
    the first run did. Costs nothing for texts that are not ratings, one indexed query otherwise.
    """
    others = {conversation_id for conversation_id, _, text in messages if parse_rating(text) is None}
    candidates = {conversation_id for conversation_id, _, _ in messages} - others
    if not candidates:
        return set()
    answers = [message_id for conversation_id, message_id, _ in messages if conversation_id in candidates]
    query = {
        "conversation_id": {"$in": list(candidates)},
        "$or": [
            {"status": SurveyStatus.SENT.value, "expires_at": {"$gt": now}},
            {"status": SurveyStatus.ANSWERED.value, "answer_message_id": {"$in": answers}},
        ],
    }
    with across_workspaces("a pipeline batch spans workspaces; conversation ids are unique across them"):
        rows = CsatSurvey.get_pymongo_collection().find(query, {"conversation_id": 1})
        return {PydanticObjectId(row["conversation_id"]) async for row in rows}


async def record_answers(events: Sequence[Event], now: datetime) -> None:
    """Arrival step: store each inbound rating as the answer of its conversation's open survey.

    Idempotent: a survey takes one answer (matched on `status: sent`), so replaying the batch changes nothing.
    """
    for event in events:
        if not isinstance(event, MessageReceived) or (rating := parse_rating(event.text)) is None:
            continue
        open_survey = {
            "workspace_id": event.where.workspace_id,
            "conversation_id": event.conversation_id,
            "status": SurveyStatus.SENT.value,
            "expires_at": {"$gt": now},
        }
        answer = {
            "status": SurveyStatus.ANSWERED.value,
            "rating": rating,
            "comment": "" if is_bare_rating(event.text) else event.text.strip(),
            "answered_at": event.at,
            "answer_message_id": event.message_id,
        }
        await CsatSurvey.get_pymongo_collection().find_one_and_update(
            open_survey, {"$set": answer}, sort=[("created_at", -1)]
        )

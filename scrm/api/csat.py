"""`/api/v1/csat`: the satisfaction report and settings; `/api/v1/conversations/{id}/csat`: one conversation's surveys.

The report reads the whole workspace (the roles that read reports); a conversation's surveys follow the inbox's
rules (an agent reaches only their channels and teams). A survey the channel could not send is listed with
`status: skipped` and the reason in `skipped_reason`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ExceptionHandlersMap

from scrm.api.inbox import INBOX_ERRORS, READ
from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, requires
from scrm.auth.roles import Permission
from scrm.inbox import csat
from scrm.inbox.actions import get_conversation, parse_conversation_id
from scrm.inbox.csat_report import CsatFilter, csat_answers, csat_figures
from scrm.models import CsatSettings, CsatSurvey
from scrm.problems import problem_with

Question = Annotated[str, msgspec.Meta(min_length=1, max_length=csat.MAX_QUESTION_LENGTH)]


class SurveyOut(msgspec.Struct):
    """One survey: sent (and maybe answered) or skipped with the reason."""

    id: str
    conversation_id: str
    contact_id: str
    channel_id: str
    platform: str
    status: str
    skipped_reason: str
    language: str
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    rating: int | None
    comment: str
    answered_at: datetime | None


class SurveyList(msgspec.Struct):
    """A conversation's surveys, newest first."""

    items: list[SurveyOut]


class CsatReport(msgspec.Struct):
    """Figures over the surveys asked in range, and a page of the answers, newest first.

    `response_rate` is answered over sent (skipped surveys are not sent); `per_rating` counts answers by
    rating "1" to "5"; `average` and `response_rate` are null before there is anything to divide.
    """

    sent: int
    skipped: int
    answered: int
    response_rate: float | None
    average: float | None
    per_rating: dict[str, int]
    items: list[SurveyOut]
    next_cursor: str | None


class CsatSettingsIO(msgspec.Struct, forbid_unknown_fields=True):
    """Whether resolving a conversation sends the survey, and its question in English and Chinese."""

    enabled: bool
    question_en: Question
    question_zh: Question


def survey_out(survey: CsatSurvey) -> SurveyOut:
    """The API view of a survey."""
    return SurveyOut(
        id=str(survey.id),
        conversation_id=str(survey.conversation_id),
        contact_id=str(survey.contact_id),
        channel_id=str(survey.channel_id),
        platform=survey.platform,
        status=survey.status.value,
        skipped_reason=survey.skipped_reason,
        language=survey.language,
        created_at=survey.created_at,
        sent_at=survey.sent_at,
        expires_at=survey.expires_at,
        rating=survey.rating,
        comment=survey.comment,
        answered_at=survey.answered_at,
    )


def settings_io(settings: CsatSettings) -> CsatSettingsIO:
    """The API view of the survey settings."""
    return CsatSettingsIO(settings.enabled, settings.question_en, settings.question_zh)


CSAT_ERRORS: ExceptionHandlersMap = {csat.CsatInputError: problem_with(400)}


class CsatController(Controller):
    """The satisfaction survey: its report and its settings."""

    path = "/csat"
    tags = ("csat",)
    exception_handlers = CSAT_ERRORS

    @get(
        "/",
        guards=[requires(Permission.READ_REPORTS)],
        summary="The CSAT report: average, count per rating, response rate, and the answers",
        description="Surveys count by when they were asked; `since` is inclusive, `until` exclusive.",
    )
    async def report(
        self,
        principal: Caller,
        channel_id: Annotated[str | None, QueryParameter(description="Only this channel's surveys.")] = None,
        since: Annotated[datetime | None, QueryParameter(description="Asked at or after this time.")] = None,
        until: Annotated[datetime | None, QueryParameter(description="Asked before this time.")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> CsatReport:
        """Figures over the workspace's surveys in range, and a page of answers."""
        if since is not None and until is not None and since >= until:
            raise ValidationException("`since` must be earlier than `until`")
        wanted = CsatFilter(parse_id(channel_id, "channel") if channel_id else None, since, until)
        figures = await csat_figures(principal, wanted)
        answers = await csat_answers(principal, wanted, parse_cursor(cursor), limit)
        return CsatReport(
            sent=figures.sent,
            skipped=figures.skipped,
            answered=figures.answered,
            response_rate=figures.response_rate,
            average=figures.average,
            per_rating={str(rating): n for rating, n in figures.per_rating.items()},
            items=[survey_out(s) for s in answers[:limit]],
            next_cursor=next_cursor([s.id for s in answers], limit),
        )

    @get("/settings", guards=[requires(Permission.READ_WORKSPACE)], summary="The survey settings")
    async def show_settings(self, principal: Caller) -> CsatSettingsIO:
        """Whether surveys are sent on resolve, and the question in each language."""
        return settings_io(await csat.csat_settings(principal.workspace_id))

    @put(
        "/settings",
        guards=[requires(Permission.MANAGE_CHANNELS)],
        summary="Turn the survey on or off and set its question (owners and admins)",
    )
    async def save_settings(self, principal: Caller, data: JSONBody[CsatSettingsIO]) -> CsatSettingsIO:
        """Store the survey settings; each question has 1 to 500 characters."""
        wanted = CsatSettings(enabled=data.enabled, question_en=data.question_en, question_zh=data.question_zh)
        return settings_io(await csat.save_csat_settings(principal.workspace_id, wanted))


class ConversationCsatController(Controller):
    """The surveys of one conversation."""

    path = "/conversations/{conversation_id:str}/csat"
    tags = ("conversations", "csat")
    exception_handlers = INBOX_ERRORS

    @get("/", guards=READ, summary="A conversation's CSAT surveys: sent, answered, or skipped with the reason")
    async def surveys(self, principal: Caller, conversation_id: FromPath[str]) -> SurveyList:
        """The conversation's surveys, newest first; 404 for a conversation out of reach."""
        conversation = await get_conversation(principal, parse_conversation_id(conversation_id))
        found = principal.scope.find(CsatSurvey, {"conversation_id": conversation.id}).sort("-created_at").limit(50)
        return SurveyList([survey_out(s) for s in await found.to_list()])

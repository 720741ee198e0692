"""The demo's resolved conversations, worked as a team works them: resolved by their agent, surveyed, answered.

An agent resolves the conversation through the inbox (its SLA cycle ends, the CSAT survey is queued in the
outbox); the platform accepted the survey back then, so its outbox row is recorded as sent the way delivery
records it; and the contact's rating reply is replayed through the connectors and the pipeline, whose
arrival step stores it as the survey's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId

from scrm import outbound_queue, pipeline
from scrm.channel_access import ChannelAccess
from scrm.demo.history import answer_deliveries, parse_history
from scrm.demo.people import member_principal, owner_principal
from scrm.demo.replies import find_conversation
from scrm.demo.timeline import Timeline
from scrm.inbox.actions import set_status
from scrm.inbox.csat import latest_survey
from scrm.models import ConversationStatus, OutboundMessage, OutboundStatus, SurveyStatus, WorkspaceScope
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore

SENT_AFTER = timedelta(seconds=2)
"""How long the platform took to accept a demo survey."""


async def resolve_conversations(
    data: Mapping[str, Any], channels: Mapping[str, ChannelAccess], timeline: Timeline
) -> int:
    """Resolve the demo's resolved conversations that are not yet, each by its assignee; returns how many."""
    resolved = 0
    for spec in data["conversations"]:
        if spec["status"] != ConversationStatus.RESOLVED.value:
            continue
        found = await find_conversation(data, spec, channels)
        if found is None:
            continue
        workspace_id, conversation_id = found["workspace_id"], PydanticObjectId(found["_id"])
        if found["status"] != ConversationStatus.RESOLVED.value:
            assignee = found.get("assignee_id")
            principal = await member_principal(workspace_id, assignee) if assignee else owner_principal(workspace_id)
            await set_status(
                principal, conversation_id, ConversationStatus.RESOLVED, timeline.at(spec, "resolved_minutes_ago")
            )
            resolved += 1
        await _survey_sent(WorkspaceScope(workspace_id), conversation_id)  # also after a load stopped in between
    return resolved


async def _survey_sent(scope: WorkspaceScope, conversation_id: PydanticObjectId) -> None:
    """Record the conversation's queued survey as accepted by the platform, as delivery does after sending it."""
    survey = await latest_survey(scope, conversation_id)
    if survey is None or survey.status is not SurveyStatus.SENT or survey.outbound_id is None:
        return
    row = await scope.find_one(OutboundMessage, {"_id": survey.outbound_id, "status": OutboundStatus.QUEUED.value})
    if row is None:
        return
    at = row.created_at + SENT_AFTER
    text = str(row.payload.get("text", ""))
    outcome = outbound_queue.delivered(row, survey.platform, conversation_id, text, f"demo-{survey.key}", at)
    await outbound_queue.Ledger().write(*outcome)


async def replay_answers(
    data: Mapping[str, Any],
    channels: Mapping[str, ChannelAccess],
    timeline: Timeline,
    box: SecretBox,
    tagger: pipeline.Tagger | None,
) -> int:
    """The contacts' replies to the surveys, through the connectors and the pipeline; how many were new.

    Only where the survey went out (a workspace loaded before surveys existed has none): elsewhere the reply
    would be an ordinary message that reopens the conversation.
    """
    surveyed = set()
    for index, spec in enumerate(data["conversations"]):
        found = await find_conversation(data, spec, channels) if "csat_answer" in spec else None
        survey = await latest_survey(WorkspaceScope(found["workspace_id"]), found["_id"]) if found else None
        if survey is not None and survey.status is not SurveyStatus.SKIPPED:
            surveyed.add(index)
    batch = parse_history(answer_deliveries(data, channels, timeline, surveyed), MongoTokenStore(box))
    if not batch:
        return 0
    events = await pipeline.process_many(batch, timeline.now, tagger)
    return sum(event is not None for event in events)

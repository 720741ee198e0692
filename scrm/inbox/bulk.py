"""Working many conversations at once: resolve, reopen, assign, label or move to a team a selection in one update.

The selection is matched on the workspace and the principal's reach like every single action, so ids the
principal may not see are silently left out; the answer says how many conversations were matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.actions import check_assignable, clean_label
from scrm.inbox.conversations import InboxInputError, reach
from scrm.inbox.csat import offer_surveys
from scrm.inbox.sla import follow_statuses, stop_resolutions
from scrm.models import Conversation, ConversationStatus, Team

MAX_SELECTION = 200


@dataclass(frozen=True, slots=True)
class BulkChange:
    """What to do to every selected conversation; at least one field is set. Snoozing is one at a time."""

    status: ConversationStatus | None = None
    assignee_id: PydanticObjectId | None = None
    unassign: bool = False
    add_label: str | None = None
    team_id: PydanticObjectId | None = None
    """Move them to this team's queue (their assignees stay, as for one conversation)."""
    no_team: bool = False
    """Take them out of any team's queue."""


async def _update(principal: Principal, change: BulkChange) -> dict[str, Any]:
    """The MongoDB update for a change, with the assignee checked once for the whole selection."""
    update: dict[str, Any] = {}
    if change.status is not None:
        if change.status is ConversationStatus.SNOOZED:
            raise InboxInputError("Snooze conversations one at a time, each with its own time")
        update["$set"] = {"status": change.status.value, "snoozed_until": None}
    if change.assignee_id is not None or change.unassign:
        if change.assignee_id is not None:
            await check_assignable(principal, change.assignee_id)
        update.setdefault("$set", {})["assignee_id"] = None if change.unassign else change.assignee_id
    if change.add_label:
        update["$addToSet"] = {"labels": clean_label(change.add_label)}
    if change.team_id is not None or change.no_team:
        if change.team_id is not None and await principal.scope.count(Team, {"_id": change.team_id}) == 0:
            raise InboxInputError(f"Team {change.team_id} is not a team of this workspace")
        update.setdefault("$set", {})["team_id"] = None if change.no_team else change.team_id
    if not update:
        raise InboxInputError("Say what to change: a status, an assignee, a label or a team")
    return update


async def apply_to_many(
    principal: Principal, ids: list[PydanticObjectId], change: BulkChange, now: datetime | None = None
) -> int:
    """Apply one change to every selected conversation the principal may see; returns how many matched.

    Resolving offers each resolved conversation its CSAT survey (`now`: the caller's clock, else the time).
    """
    unique = list(dict.fromkeys(ids))
    if not unique or len(unique) > MAX_SELECTION:
        raise InboxInputError(f"Select 1 to {MAX_SELECTION} conversations")
    update = await _update(principal, change)
    target = {"_id": {"$in": unique}, "workspace_id": principal.workspace_id, **reach(principal)}
    result = await Conversation.get_pymongo_collection().update_many(target, update)
    if change.status is ConversationStatus.RESOLVED:
        await stop_resolutions(target, now or datetime.now(UTC))  # their SLA cycles end here
        await offer_surveys(unique, principal.scope, now or datetime.now(UTC), reach(principal))
    elif change.status is not None:  # pending pauses their SLA clocks, open resumes them (per the policy)
        await follow_statuses(target, principal.workspace_id, now or datetime.now(UTC))
    return result.matched_count

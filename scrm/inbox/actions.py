"""Working a conversation: its status (resolve, reopen, pending, snooze), its assignee, its labels, read marks.

Each change is one atomic update matched on the id, the workspace *and* the principal's reach, so a
conversation the principal may not see is simply not found, and the pipeline's own updates of the same
conversation (new activity) are never overwritten by a stale copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from scrm.auth.roles import Principal
from scrm.inbox.conversations import InboxInputError, reach
from scrm.inbox.csat import offer_survey
from scrm.inbox.sla import follow_status, resume_woken, stop_resolution
from scrm.models import Conversation, ConversationStatus, Membership, NotInWorkspace, Role, across_workspaces

MAX_LABELS = 30
MAX_LABEL_LENGTH = 40
ASSIGNABLE_ROLES = (Role.OWNER, Role.ADMIN, Role.AGENT)


def parse_conversation_id(value: str) -> PydanticObjectId:
    """The conversation id in a path; one that cannot exist is not found, like another workspace's."""
    if not PydanticObjectId.is_valid(value):
        raise NotInWorkspace(f"No conversation {value} in this workspace")
    return PydanticObjectId(value)


def parse_user_id(value: str | None) -> PydanticObjectId | None:
    """An assignee given as text: a user id, or nobody for None or an empty value."""
    if not value:
        return None
    if not PydanticObjectId.is_valid(value):
        raise InboxInputError(f"Invalid user id {value!r}")
    return PydanticObjectId(value)


async def get_conversation(principal: Principal, conversation_id: PydanticObjectId) -> Conversation:
    """A conversation the principal may see; NotInWorkspace otherwise."""
    return await principal.scope.get(Conversation, conversation_id, reach(principal))


async def _change(principal: Principal, conversation_id: PydanticObjectId, update: dict[str, Any]) -> Conversation:
    """Apply one update to a conversation the principal may see and return it as changed."""
    target = {"_id": conversation_id, "workspace_id": principal.workspace_id, **reach(principal)}
    found = await Conversation.get_pymongo_collection().find_one_and_update(
        target, update, return_document=ReturnDocument.AFTER
    )
    if found is None:
        raise NotInWorkspace(f"No conversation {conversation_id} in this workspace")
    conversation: Conversation = Conversation.model_validate(found)
    return conversation


async def set_status(
    principal: Principal,
    conversation_id: PydanticObjectId,
    status: ConversationStatus,
    now: datetime,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Resolve, reopen, mark pending or snooze a conversation; snoozing needs a time in the future.

    A snoozed conversation comes back (open) when the contact writes again; `snoozed_until` tells people
    when to look again. Pending and snoozed pause the SLA clock where the policy says so; another status
    resumes it (`sla.follow_status`).
    """
    if status is ConversationStatus.SNOOZED:
        if snoozed_until is None or snoozed_until <= now:
            raise InboxInputError("Snoozing needs `snoozed_until`, a time in the future")
    else:
        snoozed_until = None
    conversation = await _change(
        principal, conversation_id, {"$set": {"status": status.value, "snoozed_until": snoozed_until}}
    )
    if status is ConversationStatus.RESOLVED:
        conversation = await stop_resolution(conversation, now)  # the SLA cycle ends here
        await offer_survey(conversation, now)  # the CSAT survey, where the workspace asks and the channel can send
    else:
        conversation = await follow_status(conversation, now)  # pending, snoozed: the SLA clock pauses (or resumes)
    return conversation


async def check_assignable(principal: Principal, user_id: PydanticObjectId) -> None:
    """InboxInputError unless the user is a member of the workspace who works the inbox."""
    member = await principal.scope.find_one(Membership, {"user_id": user_id})
    if member is None or member.role not in ASSIGNABLE_ROLES:
        raise InboxInputError(f"User {user_id} is not a member of this workspace who works the inbox")


async def assign(
    principal: Principal, conversation_id: PydanticObjectId, assignee_id: PydanticObjectId | None
) -> Conversation:
    """Give a conversation to a member who works the inbox (owner, admin or agent), or to nobody (None)."""
    if assignee_id is not None:
        await check_assignable(principal, assignee_id)
    return await _change(principal, conversation_id, {"$set": {"assignee_id": assignee_id}})


def clean_label(label: str) -> str:
    """A label as stored: trimmed, inner spaces collapsed; InboxInputError when empty or too long."""
    cleaned = " ".join(label.split())
    if not cleaned or len(cleaned) > MAX_LABEL_LENGTH:
        raise InboxInputError(f"A label has 1 to {MAX_LABEL_LENGTH} characters")
    return cleaned


async def add_label(principal: Principal, conversation_id: PydanticObjectId, label: str) -> Conversation:
    """Put a label on a conversation (once; adding it again changes nothing)."""
    cleaned = clean_label(label)
    conversation = await get_conversation(principal, conversation_id)
    if cleaned not in conversation.labels and len(conversation.labels) >= MAX_LABELS:
        raise InboxInputError(f"A conversation has at most {MAX_LABELS} labels")
    return await _change(principal, conversation_id, {"$addToSet": {"labels": cleaned}})


async def remove_label(principal: Principal, conversation_id: PydanticObjectId, label: str) -> Conversation:
    """Take a label off a conversation (nothing happens when it is not there)."""
    return await _change(principal, conversation_id, {"$pull": {"labels": " ".join(label.split())}})


async def set_labels(principal: Principal, conversation_id: PydanticObjectId, labels: list[str]) -> Conversation:
    """Replace a conversation's labels by these (cleaned, duplicates dropped, order kept)."""
    cleaned = list(dict.fromkeys(clean_label(label) for label in labels))
    if len(cleaned) > MAX_LABELS:
        raise InboxInputError(f"A conversation has at most {MAX_LABELS} labels")
    return await _change(principal, conversation_id, {"$set": {"labels": cleaned}})


async def mark_read(principal: Principal, conversation_id: PydanticObjectId) -> Conversation:
    """Open a conversation: its unread count drops to zero; returns it (NotInWorkspace when not visible)."""
    return await _change(principal, conversation_id, {"$set": {"unread_count": 0}})


async def labels_in_use(principal: Principal) -> list[str]:
    """Every label on a conversation the principal may see, sorted (for the filter's choices)."""
    query = {"workspace_id": principal.workspace_id, **reach(principal)}
    labels = await Conversation.get_pymongo_collection().distinct("labels", query)
    return sorted(str(label) for label in labels)


async def wake_snoozed(now: datetime) -> int:
    """Reopen every snoozed conversation whose time has come, in every workspace; returns how many.

    Idempotent (a second run finds nothing due), so a clock running in every worker may call it.
    """
    due = {"status": ConversationStatus.SNOOZED.value, "snoozed_until": {"$lte": now}}
    with across_workspaces("the clock wakes the snoozed conversations of every workspace"):
        await resume_woken(due)  # their paused SLA clocks run again from the end of the snooze
        result = await Conversation.get_pymongo_collection().update_many(
            due, {"$set": {"status": ConversationStatus.OPEN.value, "snoozed_until": None}}
        )
    return result.modified_count

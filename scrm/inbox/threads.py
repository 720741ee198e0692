"""Threading: every message lands in the one conversation of its (channel, thread), created on first sight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from scrm.events import Where
from scrm.inserts import DUPLICATE_KEY
from scrm.models import Conversation, ConversationStatus

REOPENED_BY_INBOUND = (
    ConversationStatus.RESOLVED.value,
    ConversationStatus.SNOOZED.value,
    ConversationStatus.PENDING.value,
)
"""Statuses a contact's new message turns back to open: the team was done, waiting, or waiting on the contact."""
ThreadKey = tuple[PydanticObjectId, str]
"""(channel id, the platform's thread id)."""


@dataclass(frozen=True, slots=True)
class Touch:
    """Activity in a conversation: its newest time and preview, whether inbound, and how many new unread.

    Everything but `unread` is idempotent ($max, newest-wins), so a replay after a crash applies it again;
    `unread` counts only messages this call created.
    """

    at: datetime
    preview: str
    inbound: bool
    unread: int
    reopen: bool = True
    """Whether an inbound message may reopen the conversation (not when its contact is blocked)."""
    waiting_from: datetime | None = None
    """The earliest inbound message that waits for an answer (not a blocked contact's, not a survey rating):
    the conversation's `waiting_since` when it has none."""


async def thread_conversations(
    threads: Sequence[tuple[Where, str, PydanticObjectId]], now: datetime
) -> dict[ThreadKey, PydanticObjectId]:
    """The conversation of every (where, thread id, contact), creating (open) the ones seen for the first time."""
    firsts: dict[ThreadKey, tuple[Where, PydanticObjectId]] = {}
    for where, thread_id, contact_id in threads:
        firsts.setdefault((where.channel_id, thread_id), (where, contact_id))
    if not firsts:
        return {}
    upserts = [
        UpdateOne(
            {"channel_id": key[0], "external_id": key[1]},
            {"$setOnInsert": _new_conversation(where, contact_id, now)},
            upsert=True,
        )
        for key, (where, contact_id) in firsts.items()
    ]
    collection = Conversation.get_pymongo_collection()
    try:
        await collection.bulk_write(upserts, ordered=False)
    except BulkWriteError as exc:  # another worker created some of them first: theirs are read below
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise
    query = {"$or": [{"channel_id": channel, "external_id": thread} for channel, thread in firsts]}
    return {
        (PydanticObjectId(found["channel_id"]), found["external_id"]): PydanticObjectId(found["_id"])
        async for found in collection.find(query, {"channel_id": 1, "external_id": 1})
    }


async def touch_conversations(touches: dict[PydanticObjectId, Touch]) -> None:
    """Move each conversation's last activity forward (never backwards); inbound messages reopen it.

    Each update is an aggregation pipeline, so concurrent workers can apply messages in any order: the
    preview follows the newest message, counters only grow.
    """
    if touches:
        updates = [UpdateOne({"_id": cid}, [{"$set": _changes(touch)}]) for cid, touch in touches.items()]
        await Conversation.get_pymongo_collection().bulk_write(updates, ordered=False)


def merge_touch(touches: dict[PydanticObjectId, Touch], conversation_id: PydanticObjectId, touch: Touch) -> None:
    """Fold one message's activity into the batch's touches."""
    known = touches.get(conversation_id)
    if known is None:
        touches[conversation_id] = touch
        return
    newest = touch if touch.at >= known.at else known
    inbound = known.inbound or touch.inbound
    reopen = known.reopen and touch.reopen
    waits = [at for at in (known.waiting_from, touch.waiting_from) if at is not None]
    unread = known.unread + touch.unread
    touches[conversation_id] = Touch(newest.at, newest.preview, inbound, unread, reopen, min(waits, default=None))


def _changes(touch: Touch) -> dict[str, Any]:
    newer = {"$gte": [touch.at, {"$ifNull": ["$last_message_at", touch.at]}]}
    changes: dict[str, Any] = {
        "last_message_at": {"$max": ["$last_message_at", touch.at]},
        "last_message_preview": {"$cond": [newer, touch.preview, "$last_message_preview"]},
    }
    if touch.inbound:
        reopen = {"$in": ["$status", list(REOPENED_BY_INBOUND) if touch.reopen else []]}
        changes |= {
            "last_inbound_at": {"$max": ["$last_inbound_at", touch.at]},
            "unread_count": {"$add": [{"$ifNull": ["$unread_count", 0]}, touch.unread]},
            "status": {"$cond": [reopen, ConversationStatus.OPEN.value, "$status"]},
            "snoozed_until": {"$cond": [reopen, None, "$snoozed_until"]},
        }
    if touch.waiting_from is not None:  # waiting since the first unanswered message: kept until an agent replies
        changes["waiting_since"] = {"$ifNull": ["$waiting_since", touch.waiting_from]}
    return changes


def _new_conversation(where: Where, contact_id: PydanticObjectId, now: datetime) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "workspace_id": where.workspace_id,
        "created_at": now,
        "contact_id": contact_id,
        "platform": where.platform,
        "status": ConversationStatus.OPEN.value,
        "labels": [],
        "unread_count": 0,
        "last_message_preview": "",
    }

"""Waiting time: how long a contact has waited for the team's answer, for the inbox's `sort=waiting`.

`Conversation.waiting_since` is the time of the first inbound message nobody has answered yet. Ingest sets it
(`scrm.inbox.threads`, in the same bulk update that moves the conversation's activity forward) when it is
empty, so later messages of the same wait keep the first one's time; a blocked contact's message and a survey
rating set nothing. It is emptied when an agent's reply is accepted by the outbox (`scrm.inbox.replies`), the
moment the SLA's first response stops too: the team has answered, and what follows is delivery's time.
Delivery recording the outbound message would be the wrong place: campaigns and automations send through it
too, and they answer nobody.

Conversations from before this field existed are given it once by `scrm inbox backfill-waiting`
(`backfill_waiting`): those whose last message is the contact's wait since it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.models import Conversation, Direction, Message


async def stop_waiting(workspace_id: PydanticObjectId, conversation_id: PydanticObjectId, at: datetime) -> None:
    """An agent answered at `at`: the conversation waits no more (a message the contact sent later still waits)."""
    answered = {"_id": conversation_id, "workspace_id": workspace_id, "waiting_since": {"$not": {"$gt": at}}}
    await Conversation.get_pymongo_collection().update_one(answered, {"$set": {"waiting_since": None}})


async def recompute_waiting(conversation_id: PydanticObjectId) -> datetime | None:
    """Set `waiting_since` from the thread itself: the first inbound message after our last outbound one.

    For histories recorded out of order (an import, the demo: the contact's messages first, our past replies
    after them), where `stop_waiting` alone would also clear a wait that began after the reply. Two reads on the
    thread's (conversation, sent_at) index.
    """
    messages = Message.get_pymongo_collection()
    in_thread = {"conversation_id": conversation_id}
    last_reply = await messages.find_one(
        {**in_thread, "direction": Direction.OUTBOUND.value}, {"sent_at": 1}, sort=[("sent_at", -1)]
    )
    after: dict[str, Any] = {"sent_at": {"$gt": last_reply["sent_at"]}} if last_reply else {}
    first_unanswered = await messages.find_one(
        {**in_thread, "direction": Direction.INBOUND.value, **after}, {"sent_at": 1}, sort=[("sent_at", 1)]
    )
    since: datetime | None = first_unanswered["sent_at"] if first_unanswered else None
    await Conversation.get_pymongo_collection().update_one({"_id": conversation_id}, {"$set": {"waiting_since": since}})
    return since


async def backfill_waiting(workspace_id: PydanticObjectId | None = None) -> int:
    """Give conversations stored before `waiting_since` existed their wait; returns how many were found waiting.

    A conversation whose last message is the contact's (`last_inbound_at` is its `last_message_at`) waits since
    then; the others get an explicit empty value. Only conversations without the field are touched, so a second
    run changes nothing, and neither does a run after ingest or a reply has set it.
    """
    missing: dict[str, Any] = {"waiting_since": {"$exists": False}}
    if workspace_id is not None:
        missing["workspace_id"] = workspace_id
    last_is_inbound = {"last_inbound_at": {"$type": "date"}, "$expr": {"$eq": ["$last_inbound_at", "$last_message_at"]}}
    collection = Conversation.get_pymongo_collection()
    since_last = [{"$set": {"waiting_since": "$last_inbound_at"}}]
    found = await collection.update_many({**missing, **last_is_inbound}, since_last)
    await collection.update_many(missing, {"$set": {"waiting_since": None}})
    return found.modified_count


@dataclass(frozen=True, slots=True)
class Waited:
    """How long a conversation has waited, in the one unit its chip shows: `minutes`, `hours` or `days`."""

    unit: str
    amount: int


def waited(since: datetime | None, now: datetime) -> Waited | None:
    """The wait since `since` at `now`, in whole minutes under an hour, hours under two days, else days."""
    if since is None:
        return None
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return Waited("minutes", minutes)
    if minutes < 48 * 60:
        return Waited("hours", minutes // 60)
    return Waited("days", minutes // (24 * 60))

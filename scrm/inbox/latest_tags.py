"""Each conversation's latest tags: the sentiment, intent and language of its newest tagged inbound message.

Kept on the conversation so the inbox filters by them with one indexed query. Updates only move forward in
time (a late-tagged older message does not replace a newer one's tags), and a correction or a re-tagging
rebuilds them from the messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import UpdateOne

from scrm.models import Conversation, Direction, Message


def latest_tags_of(tags: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """The stored shape of a message's tags on its conversation."""
    return {
        "sentiment": tags.get("sentiment"),
        "intent": tags.get("intent"),
        "language": tags.get("language"),
        "at": at,
    }


async def note_latest_tags(tagged: Sequence[tuple[PydanticObjectId, Mapping[str, Any], datetime]]) -> None:
    """Record (conversation, tags, message time) observations where they are newer than what is stored."""
    newest: dict[PydanticObjectId, tuple[Mapping[str, Any], datetime]] = {}
    for conversation_id, tags, at in tagged:
        if conversation_id not in newest or at >= newest[conversation_id][1]:
            newest[conversation_id] = (tags, at)
    updates = [
        UpdateOne(
            {"_id": cid, "$or": [{"latest_tags": None}, {"latest_tags.at": {"$lte": at}}]},
            {"$set": {"latest_tags": latest_tags_of(tags, at)}},
        )
        for cid, (tags, at) in newest.items()
    ]
    if updates:
        await Conversation.get_pymongo_collection().bulk_write(updates, ordered=False)


async def rebuild_latest_tags(conversation_ids: Iterable[PydanticObjectId] | None = None) -> int:
    """Recompute the latest tags from the messages (all conversations, or these); returns how many were set."""
    match: dict[str, Any] = {"direction": Direction.INBOUND.value, "tags": {"$type": "object"}}
    if conversation_ids is not None:
        match["conversation_id"] = {"$in": list(conversation_ids)}
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {"$sort": {"conversation_id": 1, "sent_at": -1}},
        {"$group": {"_id": "$conversation_id", "tags": {"$first": "$tags"}, "at": {"$first": "$sent_at"}}},
    ]
    updates = [
        UpdateOne({"_id": row["_id"]}, {"$set": {"latest_tags": latest_tags_of(row["tags"], row["at"])}})
        async for row in await Message.get_pymongo_collection().aggregate(pipeline)
    ]
    if updates:
        await Conversation.get_pymongo_collection().bulk_write(updates, ordered=False)
    return len(updates)

"""Filtering conversations by what the tagger found in their latest inbound message (sentiment, intent).

The tags live on messages, not on conversations, so the filter runs in two indexed steps:
1. the `sentiment` / `intent` index of messages gives the conversations with *any* inbound message so tagged;
2. one aggregation over those conversations' inbound messages (the `thread_order` index) keeps the ones whose
   *latest* tagged inbound message still carries the tags.
The conversation query then takes the survivors as `_id: {$in: …}`. Its cost grows with how many
conversations ever had such a message; storing the latest inbound tags on the conversation when the pipeline
tags a message would turn this into one indexed equality on the conversation itself.
"""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId

from scrm.models import Direction, Message, WorkspaceScope


def _wanted(sentiment: str | None, intent: str | None) -> dict[str, str]:
    chosen = {"tags.sentiment": sentiment, "tags.intent": intent}
    return {key: value for key, value in chosen.items() if value}


async def conversations_tagged(
    scope: WorkspaceScope, sentiment: str | None, intent: str | None
) -> list[PydanticObjectId]:
    """The ids of conversations whose latest tagged inbound message has this sentiment and intent."""
    wanted = _wanted(sentiment, intent)
    if not wanted:
        return []
    collection = Message.get_pymongo_collection()
    inbound = {"workspace_id": scope.workspace_id, "direction": Direction.INBOUND.value}
    candidates = await collection.distinct("conversation_id", {**inbound, **wanted})
    if not candidates:
        return []
    pipeline: list[dict[str, Any]] = [
        {"$match": {**inbound, "conversation_id": {"$in": candidates}, "tags": {"$type": "object"}}},
        {"$sort": {"conversation_id": -1, "sent_at": -1}},
        {"$group": {"_id": "$conversation_id", "tags": {"$first": "$tags"}}},
        {"$match": wanted},
        {"$project": {"_id": 1}},
    ]
    cursor = await collection.aggregate(pipeline)
    return [PydanticObjectId(found["_id"]) async for found in cursor]

"""Each contact's rolling sentiment (情感指数): a moving average of how their messages feel, from -1 to +1.

A message counts as positive minus negative probability, or as exactly +1 / 0 / -1 once a person has
corrected its sentiment. The newest message weighs ALPHA; older ones fade geometrically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from beanie import PydanticObjectId
from pymongo import UpdateOne

from scrm.models import Contact, Direction, Message

ALPHA = 0.3
LABEL_POLARITY = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


def message_polarity(tags: Mapping[str, Any] | None) -> float | None:
    """How a message feels, from -1 to +1; a person's correction wins over the model's scores."""
    if not tags or "sentiment" not in tags:
        return None
    if "sentiment" in tags.get("corrected", {}):
        return LABEL_POLARITY.get(str(tags["sentiment"]))
    scores = tags.get("sentiment_scores") or {}
    if not scores:
        return LABEL_POLARITY.get(str(tags["sentiment"]))
    return float(scores.get("positive", 0.0)) - float(scores.get("negative", 0.0))


async def roll_sentiment(observations: Sequence[tuple[PydanticObjectId, float]]) -> None:
    """Fold new messages' polarity into their contacts' rolling sentiment (one bulk write)."""
    updates = [UpdateOne({"_id": contact_id}, [{"$set": {"sentiment": _rolled(p)}}]) for contact_id, p in observations]
    if updates:
        await Contact.get_pymongo_collection().bulk_write(updates, ordered=False)


def _rolled(polarity: float) -> dict[str, Any]:
    """The update expression: ALPHA of the new polarity plus the rest of the old sentiment (or the new one)."""
    previous = {"$ifNull": ["$sentiment", polarity]}
    return {"$add": [ALPHA * polarity, {"$multiply": [1 - ALPHA, previous]}]}


async def recompute_sentiment(contact_id: PydanticObjectId) -> float | None:
    """Rebuild a contact's rolling sentiment from all their tagged messages, oldest first (after a correction)."""
    rolling: float | None = None
    found = Message.get_pymongo_collection().find(
        {"contact_id": contact_id, "direction": Direction.INBOUND.value, "tags": {"$ne": None}}, {"tags": 1}
    )
    async for message in found.sort("sent_at", 1):
        polarity = message_polarity(message.get("tags"))
        if polarity is not None:
            rolling = polarity if rolling is None else ALPHA * polarity + (1 - ALPHA) * rolling
    await Contact.get_pymongo_collection().update_one({"_id": contact_id}, {"$set": {"sentiment": rolling}})
    return rolling

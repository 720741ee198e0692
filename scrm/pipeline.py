"""process_many(batch): carry inbound items from any platform all the way through — the one place that owns the order.

Store first (so nothing is lost), then tag (journeys branch on tags), then hand the events to the engine, and
only then mark the items handled: a crash anywhere before that mark replays the remaining steps, never the
store itself twice. A single item is a batch of one; batches exist because every step costs a few round
trips to MongoDB (and one `nlp.pipe` call) whatever the batch's size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from beanie import PydanticObjectId
from pymongo import UpdateOne

from scrm import ingest
from scrm.connectors.items import Inbound
from scrm.contacts.sentiment import message_polarity, roll_sentiment
from scrm.events import CommentReceived, Event, MessageReceived, Where
from scrm.inbox.arrivals import on_arrivals
from scrm.inbox.latest_tags import note_latest_tags
from scrm.models import Comment, Message


class TagSet(Protocol):
    """The tags of one text (language, sentiment, intent, entities, model version)."""

    def to_dict(self) -> dict[str, Any]:
        """The tags as stored on the message or comment."""
        ...


class Tagger(Protocol):
    """Tags texts with language, sentiment, intent and entities; `tag_many` is CPU-bound (run off the loop)."""

    def tag_many(self, texts: Sequence[str]) -> Sequence[TagSet]:
        """The tags of each text, in order."""
        ...


async def process_many(
    batch: Sequence[tuple[Inbound, Where]], now: datetime, tagger: Tagger | None = None
) -> list[Event | None]:
    """Record, tag and hand on a batch of items; per item its event, or None when it had been handled before."""
    events = await ingest.record_many(batch, now)
    if tagger is not None:
        events = await tag(events, tagger)
    await on_arrivals(events, now)
    await ingest.mark_handled([event for event in events if event is not None], now)
    return events


async def process(item: Inbound, where: Where, now: datetime, tagger: Tagger | None = None) -> Event | None:
    """Carry one item through; see `process_many`."""
    return (await process_many([(item, where)], now, tagger))[0]


async def tag(events: list[Event | None], tagger: Tagger) -> list[Event | None]:
    """Tag the texts of messages and comments in one call off the event loop, and store the tags with them."""
    positions = [
        i
        for i, event in enumerate(events)
        if isinstance(event, MessageReceived | CommentReceived) and event.text.strip()
    ]
    if not positions:
        return events
    texts = [_text(events[i]) for i in positions]
    tags = await asyncio.to_thread(tagger.tag_many, texts)
    tagged = list(events)
    writes: dict[type[Message] | type[Comment], list[UpdateOne]] = {Message: [], Comment: []}
    for index, found in zip(positions, tags, strict=True):
        event = events[index]
        assert isinstance(event, MessageReceived | CommentReceived)
        values = found.to_dict()
        tagged[index] = replace(event, tags=values)
        if isinstance(event, MessageReceived):
            writes[Message].append(UpdateOne({"_id": event.message_id}, {"$set": {"tags": values}}))
        else:
            writes[Comment].append(UpdateOne({"_id": event.comment_id}, {"$set": {"tags": values}}))
    for model, updates in writes.items():
        if updates:
            await model.get_pymongo_collection().bulk_write(updates, ordered=False)
    await roll_sentiment(_observations(tagged))
    await note_latest_tags(
        [(e.conversation_id, e.tags, e.at) for e in tagged if isinstance(e, MessageReceived) and e.tags is not None]
    )
    return tagged


def _observations(events: list[Event | None]) -> list[tuple[PydanticObjectId, float]]:
    """(contact, polarity) of every tagged inbound message, for the contacts' rolling sentiment."""
    found = []
    for event in events:
        if isinstance(event, MessageReceived) and (polarity := message_polarity(event.tags)) is not None:
            found.append((event.contact_id, polarity))
    return found


def _text(event: Event | None) -> str:
    assert isinstance(event, MessageReceived | CommentReceived)
    return event.text

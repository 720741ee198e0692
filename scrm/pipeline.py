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
from scrm.events import CommentReceived, Event, MessageReceived, PostPublished, Where
from scrm.inbox.arrivals import on_arrivals
from scrm.inbox.latest_tags import note_latest_tags
from scrm.models import Comment, Message, Post


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


Tagged = MessageReceived | CommentReceived | PostPublished
TaggedDocument = type[Message] | type[Comment] | type[Post]


async def tag(events: list[Event | None], tagger: Tagger) -> list[Event | None]:
    """Tag the texts of messages, comments and posts in one call off the event loop, and store the tags with them.

    Blank texts are left untagged: there is nothing to read, and they must not move a contact's sentiment.
    """
    positions = [i for i, event in enumerate(events) if isinstance(event, Tagged) and event.text.strip()]
    if not positions:
        return events
    texts = [_text(events[i]) for i in positions]
    tags = await asyncio.to_thread(tagger.tag_many, texts)
    tagged = list(events)
    writes: dict[TaggedDocument, list[UpdateOne]] = {Message: [], Comment: [], Post: []}
    for index, found in zip(positions, tags, strict=True):
        event = events[index]
        assert isinstance(event, Tagged)
        values = found.to_dict()
        tagged[index] = replace(event, tags=values)
        document, document_id = _document_of(event)
        writes[document].append(UpdateOne({"_id": document_id}, {"$set": {"tags": values}}))
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


def _document_of(event: Tagged) -> tuple[TaggedDocument, PydanticObjectId]:
    """The stored document a tagged event is about."""
    if isinstance(event, MessageReceived):
        return Message, event.message_id
    if isinstance(event, CommentReceived):
        return Comment, event.comment_id
    return Post, event.post_id


def _text(event: Event | None) -> str:
    assert isinstance(event, Tagged)
    return event.text

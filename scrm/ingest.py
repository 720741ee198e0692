"""record_many(batch): store inbound items idempotently and say what happened — the only writer of inbound data.

Every item has a unique key at the database ((platform, channel, external id)), so a redelivery or a pull that
overlaps a webhook stores nothing twice. Each item gets back its event, or None when it was already fully
handled; an item stored but not yet handled (the process died in between) gets its event again, so nothing
is lost either. A batch costs a handful of round trips whatever its size: contacts and conversations are
bulk upserts, items one `insert_many` per kind, conversation activity one bulk of updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import Document, PydanticObjectId
from pymongo import UpdateOne

from scrm.connectors.items import (
    Inbound,
    InboundComment,
    InboundEvent,
    InboundFollow,
    InboundMessage,
    InboundPost,
    InboundStatus,
    Sender,
)
from scrm.contacts.identity import PersonKey, person_key, resolve_contacts
from scrm.contacts.suggestions import suggest_for_new_contacts
from scrm.events import (
    CommentReceived,
    ContactFollowed,
    ContactUnfollowed,
    Event,
    InteractionReceived,
    MessageReceived,
    PostPublished,
    Where,
)
from scrm.inbox.csat import answering_conversations
from scrm.inbox.delivery_status import apply_delivery_reports
from scrm.inbox.threads import ThreadKey, Touch, merge_touch, thread_conversations, touch_conversations
from scrm.ingest_documents import comment_document, follow_document, message_document, post_document
from scrm.ingest_profiles import fill_from_senders
from scrm.inserts import insert_unique
from scrm.models import Comment, Contact, Conversation, Follow, Message, Post
from scrm.search_terms import search_terms

PREVIEW_LENGTH = 140
EXTERNAL_KEY = ("platform", "channel_id", "external_id")
Batch = Sequence[tuple[Inbound, Where]]


@dataclass
class _Lookups:
    contacts: dict[PersonKey, PydanticObjectId] = field(default_factory=dict)
    conversations: dict[ThreadKey, PydanticObjectId] = field(default_factory=dict)
    posts: dict[tuple[PydanticObjectId, str], PydanticObjectId] = field(default_factory=dict)

    def contact(self, where: Where, sender: Sender) -> PydanticObjectId | None:
        return self.contacts.get(person_key(where, sender)) if sender.platform_user_id else None


async def record_many(batch: Batch, now: datetime) -> list[Event | None]:
    """Store every item of the batch (upserts on unique keys) and return, per item, its event or None."""
    lookups = await _look_up(batch, now)
    # a follower list carries profiles (LINE, X, WeChat pulls): they complete contacts first seen by id only
    profiled = [(item, where) for item, where in batch if isinstance(item, InboundFollow) and _has_profile(item)]
    await fill_from_senders([(lookups.contact(where, item.sender), item.sender) for item, where in profiled])
    events: list[Event | None] = [None] * len(batch)
    touches: dict[PydanticObjectId, Touch] = {}
    await _record_messages(batch, lookups, now, events, touches)

    def comment(item: InboundComment, where: Where) -> dict[str, Any]:
        post = lookups.posts.get((where.channel_id, item.post_id))
        return comment_document(item, where, lookups.contact(where, item.sender), post, now)

    def follow(item: InboundFollow, where: Where) -> dict[str, Any] | None:
        return follow_document(item, where, lookups.contact(where, item.sender), now)

    def post(item: InboundPost, where: Where) -> dict[str, Any]:
        return post_document(item, where, lookups.contact(where, item.author), now)

    await _record_kind(batch, InboundPost, Post, post, events)
    await _link_comments_to_posts(batch)
    lookups.posts = await _post_ids(
        [(where, item.post_id) for item, where in batch if isinstance(item, InboundComment)]
    )
    await _record_kind(batch, InboundComment, Comment, comment, events)
    await _record_kind(batch, InboundFollow, Follow, follow, events)
    await touch_conversations(touches)
    await apply_delivery_reports([(item, where) for item, where in batch if isinstance(item, InboundStatus)])
    for index, (item, where) in enumerate(batch):
        contact = lookups.contact(where, item.sender) if isinstance(item, InboundEvent) else None
        if isinstance(item, InboundEvent) and not isinstance(item, InboundStatus) and contact is not None:
            events[index] = InteractionReceived(where, contact, item.kind, item.key, item.at)
    return events


async def record(item: Inbound, where: Where, now: datetime) -> Event | None:
    """Store one item; see `record_many`."""
    return (await record_many([(item, where)], now))[0]


async def mark_handled(events: Sequence[Event], now: datetime) -> None:
    """Note that the pipeline finished with the items behind `events`, so a replay skips them."""
    targets: dict[type[Document], list[PydanticObjectId]] = {}
    for event in events:
        if isinstance(event, MessageReceived):
            targets.setdefault(Message, []).append(event.message_id)
        elif isinstance(event, CommentReceived):
            targets.setdefault(Comment, []).append(event.comment_id)
        elif isinstance(event, PostPublished):
            targets.setdefault(Post, []).append(event.post_id)
        elif isinstance(event, ContactFollowed | ContactUnfollowed):
            targets.setdefault(Follow, []).append(event.follow_id)
    for model, ids in targets.items():
        await model.get_pymongo_collection().update_many({"_id": {"$in": ids}}, {"$set": {"handled_at": now}})


async def _look_up(batch: Batch, now: datetime) -> _Lookups:
    people = [(where, person) for item, where in batch if (person := _person(item)) is not None]
    lookups = _Lookups(contacts=await resolve_contacts(people, now))
    await suggest_for_new_contacts(lookups.contacts.values(), created_since=now)  # offered, never merged
    threads = [
        (where, item.conversation_id, lookups.contacts[person_key(where, item.sender)])
        for item, where in batch
        if isinstance(item, InboundMessage)
    ]
    lookups.conversations = await thread_conversations(threads, now)
    lookups.posts = await _post_ids(
        [(where, item.post_id) for item, where in batch if isinstance(item, InboundComment)]
    )
    return lookups


async def _record_messages(
    batch: Batch, lookups: _Lookups, now: datetime, events: list[Event | None], touches: dict[PydanticObjectId, Touch]
) -> None:
    positions = [i for i, (item, _) in enumerate(batch) if isinstance(item, InboundMessage)]
    documents = []
    for index in positions:
        item, where = batch[index]
        assert isinstance(item, InboundMessage)
        contact = lookups.contacts[person_key(where, item.sender)]
        conversation = lookups.conversations[(where.channel_id, item.conversation_id)]
        documents.append(message_document(item, where, contact, conversation, now))
    outcome = await insert_unique(Message.get_pymongo_collection(), documents, EXTERNAL_KEY)
    blocked = await _blocked([document["contact_id"] for document in documents])
    rating = await answering_conversations([(s["conversation_id"], s["_id"], s["text"]) for s in outcome.stored], now)
    edits = []
    tokens = []
    for index, stored, created in zip(positions, outcome.stored, outcome.created, strict=True):
        item, where = batch[index]
        assert isinstance(item, InboundMessage)
        if created and item.reply_token:  # a redelivery never re-arms a token a reply may have spent
            tokens.append(_keep_reply_token(stored["conversation_id"], item))
        if created or stored.get("handled_at") is None:  # a replay re-applies the idempotent part
            reopen = stored["contact_id"] not in blocked  # a blocked contact's message is kept, reopens nothing
            reopen = reopen and stored["conversation_id"] not in rating  # a survey rating: stays resolved
            touch = Touch(item.at, _preview(item), True, int(created), reopen, item.at if reopen else None)
            merge_touch(touches, stored["conversation_id"], touch)
        if not created and item.edited_at is not None and item.text != stored.get("text"):
            edited = {"text": item.text, "search_terms": search_terms(item.text), "edited_at": item.edited_at}
            edits.append(UpdateOne({"_id": stored["_id"]}, {"$set": edited}))
            stored["text"] = item.text
        if stored.get("handled_at") is None:
            ids = (PydanticObjectId(stored["contact_id"]), PydanticObjectId(stored["conversation_id"]))
            events[index] = MessageReceived(where, *ids, PydanticObjectId(stored["_id"]), stored["text"], item.at)
    if edits:
        await Message.get_pymongo_collection().bulk_write(edits, ordered=False)
    if tokens:
        await Conversation.get_pymongo_collection().bulk_write(tokens, ordered=False)


def _keep_reply_token(conversation_id: Any, item: InboundMessage) -> UpdateOne:
    """The conversation keeps the reply token of its newest inbound message, with that message's time.

    On the conversation rather than the message: a reply answers the conversation, only the newest token is
    worth keeping, and spending it is one atomic update of the document the reply reads anyway
    (`scrm.inbox.replies`). Newest wins by time, so messages ingested out of order leave the newest token.
    """
    newer = {"$or": [{"reply_token_at": None}, {"reply_token_at": {"$lt": item.at}}]}
    changes = {"$set": {"reply_token": item.reply_token, "reply_token_at": item.at}}
    return UpdateOne({"_id": conversation_id, **newer}, changes)


async def _record_kind(
    batch: Batch,
    kind: type[Any],
    model: type[Document],
    build: Callable[[Any, Where], dict[str, Any] | None],
    events: list[Event | None],
) -> None:
    positions = [i for i, (item, _) in enumerate(batch) if isinstance(item, kind)]
    documents = [build(*batch[i]) for i in positions]
    documents_kept = [(i, d) for i, d in zip(positions, documents, strict=True) if d is not None]
    outcome = await insert_unique(model.get_pymongo_collection(), [d for _, d in documents_kept], EXTERNAL_KEY)
    for (index, _), stored in zip(documents_kept, outcome.stored, strict=True):
        if stored.get("handled_at") is None:
            events[index] = _event_for(batch[index][0], batch[index][1], stored)


def _event_for(item: Inbound, where: Where, stored: dict[str, Any]) -> Event | None:
    oid = PydanticObjectId(stored["_id"])
    if isinstance(item, InboundComment):
        contact = stored.get("contact_id")
        if contact is None:
            return None  # a comment by someone the platform does not identify: stored, nobody to engage
        return CommentReceived(where, PydanticObjectId(contact), oid, item.post_id, str(stored["text"]), item.at)
    if isinstance(item, InboundPost):
        return PostPublished(where, oid, str(stored["text"]), item.at)
    if isinstance(item, InboundFollow):
        contact_id = PydanticObjectId(stored["contact_id"])
        if item.following:
            return ContactFollowed(where, contact_id, oid, item.at, item.source)
        return ContactUnfollowed(where, contact_id, oid, item.at)
    return None


async def _blocked(contacts: list[PydanticObjectId]) -> set[PydanticObjectId]:
    """Which of these contacts are blocked (one query, none when the batch has no message)."""
    if not contacts:
        return set()
    found = Contact.get_pymongo_collection().find({"_id": {"$in": sorted(set(contacts))}, "blocked": True}, {"_id": 1})
    return {PydanticObjectId(row["_id"]) async for row in found}


async def _link_comments_to_posts(batch: Batch) -> None:
    """Comments that arrived before their post (webhooks keep no order) get linked once the post is stored."""
    posts = [(where, item.external_id) for item, where in batch if isinstance(item, InboundPost)]
    for (channel_id, external_id), post_id in (await _post_ids(posts)).items():
        await Comment.get_pymongo_collection().update_many(
            {"channel_id": channel_id, "post_external_id": external_id, "post_id": None}, {"$set": {"post_id": post_id}}
        )


async def _post_ids(wanted: list[tuple[Where, str]]) -> dict[tuple[PydanticObjectId, str], PydanticObjectId]:
    if not wanted:
        return {}
    query = {"$or": [{"channel_id": where.channel_id, "external_id": post} for where, post in wanted]}
    rows = Post.get_pymongo_collection().find(query, {"channel_id": 1, "external_id": 1})
    return {(PydanticObjectId(r["channel_id"]), r["external_id"]): PydanticObjectId(r["_id"]) async for r in rows}


def _person(item: Inbound) -> Sender | None:
    """Who the item is from, when the platform says: the sender, or a post's author (not our own account)."""
    if isinstance(item, InboundStatus):
        return None
    person = item.author if isinstance(item, InboundPost) else item.sender
    return person if person.platform_user_id else None


def _has_profile(item: InboundFollow) -> bool:
    return bool(item.sender.display_name or item.sender.username or item.sender.avatar_url)


def _preview(item: InboundMessage) -> str:
    if item.text:
        return item.text[:PREVIEW_LENGTH]
    kinds = ", ".join(a.kind.value for a in item.attachments)
    return f"[{kinds}]" if kinds else ""

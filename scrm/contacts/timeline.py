"""A contact's lifetime activity across every channel, newest first, a page at a time.

Each source (messages in and out, comments, follows and unfollows, conversations opened, merges) is read with
one query of at most `limit + 1` documents past the cursor, served by an index on (workspace, contact, time);
the pages are then merged by (time, id), newest first. The cursor is the (time, id) of the last item shown, so
a page never repeats or skips an item, whichever source it came from (ids are unique across collections).

An agent sees only the activity within reach: messages of their conversations with the contact, comments and
follows on their channels. Nobody records when a conversation was resolved, so only openings are shown.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.conversations import reach
from scrm.models import Comment, Conversation, Direction, Follow, FollowKind, MergeRecord, Message

DEFAULT_LIMIT = 30
MAX_LIMIT = 200
PREVIEW_LENGTH = 280
_CURSOR = re.compile(r"^(\d+)\.([0-9a-f]{24})$")


class TimelineInputError(ValueError):
    """A timeline request that cannot be read (a cursor this service did not hand out); the message says why."""


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One thing that happened with the contact.

    `kind` is one of `message_in`, `message_out`, `comment`, `comment_reply` (ours), `follow`, `unfollow`,
    `conversation_opened`, `merged` (another contact merged into this one, or this one into another).
    """

    kind: str
    at: datetime
    id: PydanticObjectId
    platform: str = ""
    channel_id: PydanticObjectId | None = None
    conversation_id: PydanticObjectId | None = None
    text: str = ""
    other_contact_id: PydanticObjectId | None = None
    undone: bool = False

    @property
    def position(self) -> tuple[datetime, PydanticObjectId]:
        """Where the item sorts: by time, then by id."""
        return self.at, self.id


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """A page of the timeline, newest first, and the cursor of the next (None on the last)."""

    items: list[TimelineItem]
    next_cursor: str | None


def encode_cursor(item: TimelineItem) -> str:
    """The cursor after this item: its time in milliseconds and its id."""
    return f"{round(item.at.timestamp() * 1000)}.{item.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, PydanticObjectId] | None:
    """The position a cursor names; TimelineInputError for anything else."""
    if not cursor:
        return None
    found = _CURSOR.match(cursor)
    if found is None:
        raise TimelineInputError(f"Invalid cursor {cursor!r}: pass the `next_cursor` of the previous page")
    return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC), PydanticObjectId(found.group(2))


def _older(field: str, position: tuple[datetime, PydanticObjectId] | None) -> dict[str, Any]:
    if position is None:
        return {}
    at, oid = position
    return {"$or": [{field: {"$lt": at}}, {field: at, "_id": {"$lt": oid}}]}


async def contact_timeline(
    principal: Principal, contact_id: PydanticObjectId, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> TimelinePage:
    """One page of what happened with a contact (whom the caller has already been allowed to see)."""
    position = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    sources = [
        await _messages(principal, contact_id, position, limit),
        await _comments(principal, contact_id, position, limit),
        await _follows(principal, contact_id, position, limit),
        await _conversations(principal, contact_id, position, limit),
        await _merges(principal, contact_id, position, limit),
    ]
    merged = heapq.merge(*sources, key=lambda item: item.position, reverse=True)
    found = [item for _, item in zip(range(limit + 1), merged, strict=False)]
    page = found[:limit]
    return TimelinePage(page, encode_cursor(page[-1]) if len(found) > limit else None)


async def _messages(
    principal: Principal, contact_id: PydanticObjectId, position: tuple[datetime, PydanticObjectId] | None, limit: int
) -> list[TimelineItem]:
    query: dict[str, Any] = {"contact_id": contact_id}
    if principal.is_limited:
        mine = await principal.scope.find(Conversation, {"contact_id": contact_id}, reach(principal)).to_list()
        query["conversation_id"] = {"$in": sorted(c.id for c in mine if c.id is not None)}
    found = principal.scope.find(Message, query, _older("sent_at", position))
    return [
        TimelineItem(
            kind="message_in" if m.direction is Direction.INBOUND else "message_out",
            at=m.sent_at,
            id=m.id,
            platform=m.platform,
            channel_id=m.channel_id,
            conversation_id=m.conversation_id,
            text=_preview(m.text or ", ".join(a.kind for a in m.attachments)),
        )
        for m in await found.sort("-sent_at", "-_id").limit(limit + 1).to_list()
        if m.id is not None
    ]


def _on_channels(principal: Principal) -> dict[str, Any]:
    return {"channel_id": {"$in": sorted(principal.channel_ids)}} if principal.is_limited else {}


async def _comments(
    principal: Principal, contact_id: PydanticObjectId, position: tuple[datetime, PydanticObjectId] | None, limit: int
) -> list[TimelineItem]:
    found = principal.scope.find(
        Comment, {"contact_id": contact_id}, _on_channels(principal), _older("created_time", position)
    )
    return [
        TimelineItem(
            kind="comment_reply" if c.from_us else "comment",
            at=c.created_time,
            id=c.id,
            platform=c.platform,
            channel_id=c.channel_id,
            text=_preview(c.text),
        )
        for c in await found.sort("-created_time", "-_id").limit(limit + 1).to_list()
        if c.id is not None
    ]


async def _follows(
    principal: Principal, contact_id: PydanticObjectId, position: tuple[datetime, PydanticObjectId] | None, limit: int
) -> list[TimelineItem]:
    found = principal.scope.find(Follow, {"contact_id": contact_id}, _on_channels(principal), _older("at", position))
    return [
        TimelineItem(
            kind="follow" if f.kind is FollowKind.FOLLOW else "unfollow",
            at=f.at,
            id=f.id,
            platform=f.platform,
            channel_id=f.channel_id,
            text=f.source,
        )
        for f in await found.sort("-at", "-_id").limit(limit + 1).to_list()
        if f.id is not None
    ]


async def _conversations(
    principal: Principal, contact_id: PydanticObjectId, position: tuple[datetime, PydanticObjectId] | None, limit: int
) -> list[TimelineItem]:
    found = principal.scope.find(
        Conversation, {"contact_id": contact_id}, reach(principal), _older("created_at", position)
    )
    return [
        TimelineItem(
            kind="conversation_opened",
            at=c.created_at,
            id=c.id,
            platform=c.platform,
            channel_id=c.channel_id,
            conversation_id=c.id,
        )
        for c in await found.sort("-created_at", "-_id").limit(limit + 1).to_list()
        if c.id is not None
    ]


async def _merges(
    principal: Principal, contact_id: PydanticObjectId, position: tuple[datetime, PydanticObjectId] | None, limit: int
) -> list[TimelineItem]:
    involving = {"$or": [{"survivor_id": contact_id}, {"merged_id": contact_id}]}
    found = principal.scope.find(MergeRecord, involving, _older("created_at", position))
    return [
        TimelineItem(
            kind="merged",
            at=r.created_at,
            id=r.id,
            other_contact_id=r.merged_id if r.survivor_id == contact_id else r.survivor_id,
            undone=r.undone_at is not None,
        )
        for r in await found.sort("-created_at", "-_id").limit(limit + 1).to_list()
        if r.id is not None
    ]


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"

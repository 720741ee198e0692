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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.conversations import reach
from scrm.models import Comment, Conversation, Direction, Follow, FollowKind, MergeRecord, Message
from scrm.models.base import WorkspaceDocument

DEFAULT_LIMIT = 30
MAX_LIMIT = 200
PREVIEW_LENGTH = 280
_CURSOR = re.compile(r"^(\d+)\.([0-9a-f]{24})$")
D = TypeVar("D", bound=WorkspaceDocument)


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


@dataclass(frozen=True, slots=True)
class _Window:
    """What every source reads: the caller's view of one contact, past the cursor, at most `limit + 1` documents."""

    principal: Principal
    contact_id: PydanticObjectId
    position: tuple[datetime, PydanticObjectId] | None
    limit: int

    async def newest(self, model: type[D], time_field: str, *filters: Mapping[str, Any]) -> list[D]:
        """The workspace's `model` documents matching every filter past the cursor, newest first by `time_field`."""
        found = self.principal.scope.find(model, *filters, _older(time_field, self.position))
        return await found.sort(f"-{time_field}", "-_id").limit(self.limit + 1).to_list()

    def on_channels(self) -> dict[str, Any]:
        """Only the caller's channels, for an agent limited to some."""
        principal = self.principal
        return {"channel_id": {"$in": sorted(principal.channel_ids)}} if principal.is_limited else {}


async def contact_timeline(
    principal: Principal, contact_id: PydanticObjectId, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> TimelinePage:
    """One page of what happened with a contact (whom the caller has already been allowed to see)."""
    limit = max(1, min(limit, MAX_LIMIT))
    window = _Window(principal, contact_id, decode_cursor(cursor), limit)
    sources = [
        await _messages(window),
        await _comments(window),
        await _follows(window),
        await _conversations(window),
        await _merges(window),
    ]
    merged = heapq.merge(*sources, key=lambda item: item.position, reverse=True)
    found = [item for _, item in zip(range(limit + 1), merged, strict=False)]
    page = found[:limit]
    return TimelinePage(page, encode_cursor(page[-1]) if len(found) > limit else None)


async def _messages(window: _Window) -> list[TimelineItem]:
    principal, contact_id = window.principal, window.contact_id
    query: dict[str, Any] = {"contact_id": contact_id}
    if principal.is_limited:
        mine = await principal.scope.find(Conversation, {"contact_id": contact_id}, reach(principal)).to_list()
        query["conversation_id"] = {"$in": sorted(c.id for c in mine if c.id is not None)}
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
        for m in await window.newest(Message, "sent_at", query)
        if m.id is not None
    ]


async def _comments(window: _Window) -> list[TimelineItem]:
    return [
        TimelineItem(
            kind="comment_reply" if c.from_us else "comment",
            at=c.created_time,
            id=c.id,
            platform=c.platform,
            channel_id=c.channel_id,
            text=_preview(c.text),
        )
        for c in await window.newest(Comment, "created_time", {"contact_id": window.contact_id}, window.on_channels())
        if c.id is not None
    ]


async def _follows(window: _Window) -> list[TimelineItem]:
    return [
        TimelineItem(
            kind="follow" if f.kind is FollowKind.FOLLOW else "unfollow",
            at=f.at,
            id=f.id,
            platform=f.platform,
            channel_id=f.channel_id,
            text=f.source,
        )
        for f in await window.newest(Follow, "at", {"contact_id": window.contact_id}, window.on_channels())
        if f.id is not None
    ]


async def _conversations(window: _Window) -> list[TimelineItem]:
    opened = {"contact_id": window.contact_id}
    return [
        TimelineItem(
            kind="conversation_opened",
            at=c.created_at,
            id=c.id,
            platform=c.platform,
            channel_id=c.channel_id,
            conversation_id=c.id,
        )
        for c in await window.newest(Conversation, "created_at", opened, reach(window.principal))
        if c.id is not None
    ]


async def _merges(window: _Window) -> list[TimelineItem]:
    contact_id = window.contact_id
    involving = {"$or": [{"survivor_id": contact_id}, {"merged_id": contact_id}]}
    return [
        TimelineItem(
            kind="merged",
            at=r.created_at,
            id=r.id,
            other_contact_id=r.merged_id if r.survivor_id == contact_id else r.survivor_id,
            undone=r.undone_at is not None,
        )
        for r in await window.newest(MergeRecord, "created_at", involving)
        if r.id is not None
    ]


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"

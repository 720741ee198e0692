"""One conversation as the inbox shows it: the thread, replies still on their way, notes, the contact, the window.

Reading it costs a fixed number of queries: the conversation (marked read in the same update), its
messages, its unsent replies, its notes (shown in the thread, where they happened), its contact, its
channel and the members who can take it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from beanie import PydanticObjectId
from pydantic import BaseModel, Field

from scrm.auth.roles import Principal
from scrm.inbox.actions import ASSIGNABLE_ROLES, get_conversation, mark_read
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.mentions import Handles, highlight, mention_handles
from scrm.inbox.notes import notes_of
from scrm.inbox.replies import WindowState, counted_window_state
from scrm.models import (
    Attachment,
    Channel,
    Contact,
    Conversation,
    Direction,
    Membership,
    Message,
    Note,
    OutboundMessage,
    OutboundStatus,
    User,
)

THREAD_LIMIT = 200
THREAD_PAGE = 50
"""The page shows the latest THREAD_PAGE messages; "load older" fetches the previous THREAD_PAGE at a time."""
_THREAD_CURSOR = re.compile(r"^(\d+)\.([0-9a-f]{24})$")


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    """One line of the thread: a message, a reply the outbox has not sent (yet, or at all), or a private note."""

    id: str
    inbound: bool
    text: str
    at: datetime
    attachments: list[Attachment]
    delivery_status: str | None
    tags: dict[str, object] | None
    error: str = ""
    note_by: str | None = None
    """Who wrote it, for a private note; None for messages and replies."""
    parts: tuple[tuple[str, bool], ...] = ()
    """A note's text as pieces, plain (False) or an @mention (True), for highlighting; empty for messages."""

    @property
    def is_note(self) -> bool:
        """Is this a private note rather than a message?"""
        return self.note_by is not None


@dataclass(frozen=True, slots=True)
class Member:
    """Someone a conversation can be assigned to."""

    user_id: PydanticObjectId
    name: str


@dataclass(frozen=True, slots=True)
class ConversationView:
    """Everything the conversation page shows."""

    conversation: Conversation
    contact: Contact | None
    channel: Channel | None
    entries: list[ThreadEntry]
    window: WindowState
    members: list[Member]
    older_cursor: str | None = None
    """Where the previous page of the thread starts (None: the page holds the first message)."""
    anchor: str | None = None
    """The oldest message shown: the refresh reads from it on, so what "load older" adds never leaves a gap."""

    @property
    def assignee_name(self) -> str:
        """The name of the member the conversation is assigned to ("" when nobody)."""
        found = [m.name for m in self.members if m.user_id == self.conversation.assignee_id]
        return found[0] if found else ""


async def open_conversation(principal: Principal, conversation_id: PydanticObjectId, now: datetime) -> ConversationView:
    """Read a conversation for the page, marking it read; NotInWorkspace when the principal may not see it."""
    return await _view(principal, await mark_read(principal, conversation_id), now)


async def read_conversation(principal: Principal, conversation_id: PydanticObjectId, now: datetime) -> ConversationView:
    """Read a conversation for a refresh, leaving its unread count alone."""
    return await _view(principal, await get_conversation(principal, conversation_id), now)


async def _view(principal: Principal, conversation: Conversation, now: datetime) -> ConversationView:
    assert conversation.id is not None
    scope = principal.scope
    page = await thread_page(principal, conversation.id)
    return ConversationView(
        conversation=conversation,
        contact=await scope.find_one(Contact, {"_id": conversation.contact_id}),
        channel=await scope.find_one(Channel, {"_id": conversation.channel_id}),
        entries=page.entries,
        window=await counted_window_state(conversation, now),
        members=await inbox_members(principal),
        older_cursor=page.older_cursor,
        anchor=page.anchor,
    )


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """Entries of a thread, oldest first, the cursor of the page before them, and the oldest message shown."""

    entries: list[ThreadEntry]
    older_cursor: str | None
    anchor: str | None


class ThreadMessage(BaseModel):
    """The fields of a message the thread shows: read with a projection, leaving out its `search_terms`."""

    id: PydanticObjectId = Field(alias="_id")
    direction: Direction
    text: str = ""
    sent_at: datetime
    attachments: list[Attachment] = Field(default_factory=list)
    delivery_status: str | None = None
    tags: dict[str, Any] | None = None
    outbound_id: PydanticObjectId | None = None


def _encode(message: ThreadMessage) -> str:
    return f"{round(message.sent_at.timestamp() * 1000)}.{message.id}"


def _decode(cursor: str) -> tuple[datetime, PydanticObjectId]:
    found = _THREAD_CURSOR.match(cursor)
    if found is None:
        raise InboxInputError(f"Invalid cursor {cursor!r}: pass the cursor the thread handed out")
    return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC), PydanticObjectId(found.group(2))


async def thread_page(
    principal: Principal,
    conversation_id: PydanticObjectId,
    before: str | None = None,
    since: str | None = None,
    limit: int = THREAD_PAGE,
) -> ThreadPage:
    """A page of the thread (the principal may see the conversation: the caller checked).

    Without cursors: the latest `limit` messages, the replies not sent yet, and the notes since the oldest of
    those messages. `before`: the `limit` messages before that cursor and the notes between them. `since`: every
    message from that cursor on (up to THREAD_LIMIT), for the refresh of a page already shown. Pages meet
    exactly: a message or note is on one page only, and none falls between two.
    """
    scope = principal.scope
    base = {"conversation_id": conversation_id}
    if since:
        at, oid = _decode(since)
        newer = {"$or": [{"sent_at": {"$gt": at}}, {"sent_at": at, "_id": {"$gte": oid}}]}
        newest = scope.find(Message, base, newer).sort("-sent_at", "-_id").limit(THREAD_LIMIT)
        found = await newest.project(ThreadMessage).to_list()
        more = False
    else:
        older: dict[str, Any] = {}
        if before:
            at, oid = _decode(before)
            older = {"$or": [{"sent_at": {"$lt": at}}, {"sent_at": at, "_id": {"$lt": oid}}]}
        page = scope.find(Message, base, older).sort("-sent_at", "-_id").limit(limit + 1)
        found = await page.project(ThreadMessage).to_list()
        more = len(found) > limit
        found = found[:limit]
    messages = list(reversed(found))
    entries = [_message_entry(m) for m in messages]
    lowest = _decode(since)[0] if since else (messages[0].sent_at if messages and more else None)
    upper = _decode(before)[0] if before else None
    notes = await notes_of(principal, conversation_id)
    handles = await mention_handles(uid for n in notes for uid in n.mentioned_user_ids)
    entries += [
        _note_entry(n, handles)
        for n in notes
        if (lowest is None or n.created_at >= lowest) and (upper is None or n.created_at < upper)
    ]
    if not before:
        stored = {m.outbound_id for m in messages if m.outbound_id is not None}
        unsent = principal.scope.find(
            OutboundMessage, {"conversation_id": conversation_id, "status": {"$ne": OutboundStatus.SENT.value}}
        )
        entries += [_reply_entry(row) for row in await unsent.to_list() if row.id not in stored]
    return ThreadPage(
        sorted(entries, key=lambda entry: entry.at),
        _encode(messages[0]) if more else None,
        since or (_encode(messages[0]) if messages else None),
    )


async def thread_entries(
    principal: Principal, conversation_id: PydanticObjectId, since: str | None = None
) -> list[ThreadEntry]:
    """The latest messages of a conversation (or all from `since` on) with its unsent replies and notes, oldest
    first."""
    return (await thread_page(principal, conversation_id, since=since, limit=THREAD_LIMIT)).entries


def _message_entry(message: ThreadMessage) -> ThreadEntry:
    return ThreadEntry(
        id=str(message.id),
        inbound=message.direction.value == "inbound",
        text=message.text,
        at=message.sent_at,
        attachments=message.attachments,
        delivery_status=message.delivery_status,
        tags=message.tags,
    )


def _reply_entry(row: OutboundMessage) -> ThreadEntry:
    return ThreadEntry(
        id=str(row.id),
        inbound=False,
        text=str(row.payload.get("text", "")),
        at=row.created_at,
        attachments=[],
        delivery_status=row.status.value,
        tags=None,
        error=row.error,
    )


def _note_entry(note: Note, handles: Handles) -> ThreadEntry:
    return ThreadEntry(
        id=str(note.id),
        inbound=False,
        text=note.text,
        at=note.created_at,
        attachments=[],
        delivery_status=None,
        tags=None,
        note_by=note.author_name or note.author,
        parts=highlight(note.text, note.mentioned_user_ids, handles),
    )


async def inbox_members(principal: Principal) -> list[Member]:
    """The workspace's members who work the inbox, by name."""
    roles = [role.value for role in ASSIGNABLE_ROLES]
    memberships = await principal.scope.find(Membership, {"role": {"$in": roles}}).to_list()
    users = await User.find({"_id": {"$in": [m.user_id for m in memberships]}}).to_list()
    members = [Member(u.id, u.display_name or u.email) for u in users if u.id is not None and not u.disabled]
    return sorted(members, key=lambda member: member.name.lower())

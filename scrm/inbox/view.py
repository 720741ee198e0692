"""One conversation as the inbox shows it: the thread, replies still on their way, notes, the contact, the window.

Reading it costs a fixed number of queries: the conversation (marked read in the same update), its
messages, its unsent replies, its notes (shown in the thread, where they happened), its contact, its
channel and the members who can take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.actions import ASSIGNABLE_ROLES, get_conversation, mark_read
from scrm.inbox.notes import notes_of
from scrm.inbox.replies import WindowState, window_state
from scrm.models import (
    Attachment,
    Channel,
    Contact,
    Conversation,
    Membership,
    Message,
    Note,
    OutboundMessage,
    OutboundStatus,
    User,
)

THREAD_LIMIT = 200


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
    return ConversationView(
        conversation=conversation,
        contact=await scope.find_one(Contact, {"_id": conversation.contact_id}),
        channel=await scope.find_one(Channel, {"_id": conversation.channel_id}),
        entries=await thread_entries(principal, conversation.id),
        window=window_state(conversation, now),
        members=await inbox_members(principal),
    )


async def thread_entries(principal: Principal, conversation_id: PydanticObjectId) -> list[ThreadEntry]:
    """The latest messages of a conversation with its unsent replies and its private notes, oldest first."""
    query = principal.scope.find(Message, {"conversation_id": conversation_id})
    messages = list(reversed(await query.sort("-sent_at").limit(THREAD_LIMIT).to_list()))
    stored = {m.outbound_id for m in messages if m.outbound_id is not None}
    unsent = principal.scope.find(
        OutboundMessage, {"conversation_id": conversation_id, "status": {"$ne": OutboundStatus.SENT.value}}
    )
    entries = [_message_entry(m) for m in messages]
    entries += [_reply_entry(row) for row in await unsent.to_list() if row.id not in stored]
    entries += [_note_entry(note) for note in await notes_of(principal, conversation_id)]
    return sorted(entries, key=lambda entry: entry.at)


def _message_entry(message: Message) -> ThreadEntry:
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


def _note_entry(note: Note) -> ThreadEntry:
    return ThreadEntry(
        id=str(note.id),
        inbound=False,
        text=note.text,
        at=note.created_at,
        attachments=[],
        delivery_status=None,
        tags=None,
        note_by=note.author_name or note.author,
    )


async def inbox_members(principal: Principal) -> list[Member]:
    """The workspace's members who work the inbox, by name."""
    roles = [role.value for role in ASSIGNABLE_ROLES]
    memberships = await principal.scope.find(Membership, {"role": {"$in": roles}}).to_list()
    users = await User.find({"_id": {"$in": [m.user_id for m in memberships]}}).to_list()
    members = [Member(u.id, u.display_name or u.email) for u in users if u.id is not None and not u.disabled]
    return sorted(members, key=lambda member: member.name.lower())

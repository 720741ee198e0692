"""Private notes on conversations: what the team tells each other about a case, never sent to the contact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.actions import get_conversation
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.mentions import resolve
from scrm.models import Conversation, Note

MAX_NOTE_LENGTH = 5000


async def add_note(
    principal: Principal, conversation_id: PydanticObjectId, text: str, now: datetime, author_name: str = ""
) -> Note:
    """Write a private note on a conversation the principal may see."""
    return (await write_note(principal, conversation_id, text, now, author_name))[0]


async def write_note(
    principal: Principal, conversation_id: PydanticObjectId, text: str, now: datetime, author_name: str = ""
) -> tuple[Note, list[str]]:
    """Write a private note, storing whom it @mentions; with the handles that named nobody who can see it."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_NOTE_LENGTH:
        raise InboxInputError(f"A note has 1 to {MAX_NOTE_LENGTH} characters")
    conversation = await get_conversation(principal, conversation_id)
    assert conversation.id is not None
    mentions = await resolve(principal.scope, conversation, cleaned)
    note = Note(
        workspace_id=principal.workspace_id,
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        author=principal.actor,
        author_name=author_name,
        text=cleaned,
        mentioned_user_ids=mentions.user_ids,
        created_at=now,
    )
    return await principal.scope.insert(note), mentions.unresolved


async def note_reach(principal: Principal) -> dict[str, Any]:
    """The notes this principal may read: all, or (an agent) those on conversations of their channels or teams."""
    if not principal.is_limited:
        return {}
    reachable: list[dict[str, Any]] = [{"channel_id": {"$in": sorted(principal.channel_ids)}}]
    if principal.team_ids:
        teams = {"team_id": {"$in": sorted(principal.team_ids)}}
        ids = [c.id for c in await principal.scope.find(Conversation, teams).to_list()]
        reachable.append({"conversation_id": {"$in": ids}})
    return {"$or": reachable}


async def notes_of(principal: Principal, conversation_id: PydanticObjectId) -> list[Note]:
    """The notes of one conversation (which the caller has already been allowed to see), oldest first."""
    query = principal.scope.find(Note, {"conversation_id": conversation_id}, await note_reach(principal))
    return await query.sort("+created_at").to_list()


async def note_page(
    principal: Principal,
    conversation_id: PydanticObjectId | None,
    before: PydanticObjectId | None,
    limit: int,
    mentioned: PydanticObjectId | None = None,
) -> list[Note]:
    """Up to `limit + 1` notes the principal may read, newest first, before a cursor, of one conversation or all,
    and (`mentioned`) only those that mention this member."""
    filters: dict[str, Any] = {} if conversation_id is None else {"conversation_id": conversation_id}
    if mentioned is not None:
        filters["mentioned_user_ids"] = mentioned
    if before is not None:
        filters["_id"] = {"$lt": before}
    query = principal.scope.find(Note, filters, await note_reach(principal))
    return await query.sort("-_id").limit(limit + 1).to_list()


async def get_note(principal: Principal, note_id: PydanticObjectId) -> Note:
    """One note the principal may read; NotInWorkspace otherwise."""
    return await principal.scope.get(Note, note_id, await note_reach(principal))


async def count_mentions(principal: Principal, user_id: PydanticObjectId) -> int:
    """How many notes the principal may read mention this member."""
    return await principal.scope.count(Note, {"mentioned_user_ids": user_id}, await note_reach(principal))

"""`/api/v1/notes`: private notes on conversations, for the team only; an agent reads those within reach."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from scrm.api.inbox import INBOX_ERRORS, READ, WORK
from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, Now
from scrm.auth.roles import Principal
from scrm.inbox import actions, notes
from scrm.inbox.conversations import InboxInputError, user_id_of
from scrm.models import Note


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    """A private note to write on a conversation."""

    conversation_id: str
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=notes.MAX_NOTE_LENGTH)]


class NoteOut(msgspec.Struct):
    """A private note."""

    id: str
    conversation_id: str
    author: str
    author_name: str
    text: str
    created_at: datetime
    mentioned_user_ids: list[str]
    """The members the text @mentions who can see the conversation."""
    unresolved_mentions: list[str] = msgspec.field(default_factory=list)
    """On the answer to writing a note: the @handles that named no member who can see the conversation (left as
    plain text). Empty when reading."""


class NotePage(msgspec.Struct):
    """A page of notes, newest first, and the cursor of the next page (null on the last)."""

    items: list[NoteOut]
    next_cursor: str | None


def note_out(note: Note, unresolved: list[str] | None = None) -> NoteOut:
    """The API view of a note."""
    return NoteOut(
        str(note.id),
        str(note.conversation_id),
        note.author,
        note.author_name,
        note.text,
        note.created_at,
        [str(uid) for uid in note.mentioned_user_ids],
        unresolved or [],
    )


def parse_mentioned(principal: Principal, mentioned: str) -> PydanticObjectId:
    """`me` (a signed-in user) or a user id; InboxInputError otherwise."""
    if mentioned == "me":
        me = user_id_of(principal)
        if me is None:
            raise InboxInputError("`mentioned=me` needs a signed-in user; an API token can filter by a user id")
        return me
    if not PydanticObjectId.is_valid(mentioned):
        raise InboxInputError(f"Unknown mentioned {mentioned!r}: use me or a user id")
    return PydanticObjectId(mentioned)


class NotesController(Controller):
    """Private notes on conversations, for the team only."""

    path = "/notes"
    tags = ("conversations",)
    exception_handlers = INBOX_ERRORS

    @get("/", guards=READ, summary="List notes, newest first")
    async def list(
        self,
        principal: Caller,
        conversation_id: Annotated[str | None, QueryParameter(description="Only this conversation's.")] = None,
        mentioned: Annotated[
            str | None, QueryParameter(description="Only those that @mention `me` (a signed-in user) or a user id.")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> NotePage:
        """Notes the caller may read, of one conversation or of all, optionally only those mentioning someone."""
        oid = actions.parse_conversation_id(conversation_id) if conversation_id else None
        who = parse_mentioned(principal, mentioned) if mentioned is not None else None
        found = await notes.note_page(principal, oid, parse_cursor(cursor), limit, who)
        return NotePage([note_out(n) for n in found[:limit]], next_cursor([n.id for n in found], limit))

    @get("/{note_id:str}", guards=READ, summary="Get a note")
    async def show(self, principal: Caller, note_id: FromPath[str]) -> NoteOut:
        """One note the caller may read; 404 otherwise."""
        return note_out(await notes.get_note(principal, parse_id(note_id, "note")))

    @post("/", guards=WORK, summary="Write a private note on a conversation")
    async def create(self, principal: Caller, data: JSONBody[NoteIn], now: Now) -> NoteOut:
        """A new note, with the members it @mentions and the handles left unresolved; 404 for a conversation the
        caller may not see."""
        oid = actions.parse_conversation_id(data.conversation_id)
        note, unresolved = await notes.write_note(principal, oid, data.text, now)
        return note_out(note, unresolved)

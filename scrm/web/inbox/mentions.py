"""`/inbox/mentions`: the private notes that @mention the signed-in member, newest first, each with its
conversation; and the count shown beside the link in the inbox header."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.response import Template

from scrm.api.paging import next_cursor, parse_cursor
from scrm.auth.roles import Principal
from scrm.inbox.conversations import user_id_of
from scrm.inbox.mentions import highlight, mention_handles
from scrm.inbox.notes import count_mentions, note_page
from scrm.models import Contact, Conversation
from scrm.web.inbox.pages import principal_of
from scrm.web.pages import page_context

PAGE = 50


@dataclass(frozen=True, slots=True)
class MentionRow:
    """One note that mentions me, as the page lists it."""

    id: str
    conversation_id: str
    contact_name: str
    platform: str
    note_by: str
    at: datetime
    text: str
    parts: tuple[tuple[str, bool], ...]


async def mention_count(principal: Principal) -> int | None:
    """How many notes mention the signed-in member (None for a principal that is nobody)."""
    me = user_id_of(principal)
    return None if me is None else await count_mentions(principal, me)


async def mentions_page(request: Request[Any, Any, Any]) -> Template:
    """The notes mentioning me that I may read, newest first, a page at a time (`?cursor=`)."""
    principal = principal_of(request)
    me = user_id_of(principal)
    assert me is not None  # a signed-in member is always a user
    found = await note_page(principal, None, parse_cursor(request.query_params.get("cursor")), PAGE, me)
    shown = found[:PAGE]
    conversations = {
        c.id: c
        for c in await principal.scope.find(
            Conversation, {"_id": {"$in": [n.conversation_id for n in shown]}}
        ).to_list()
    }
    contact_ids = [c.contact_id for c in conversations.values()]
    contacts = {c.id: c for c in await principal.scope.find(Contact, {"_id": {"$in": contact_ids}}).to_list()}
    handles = await mention_handles(uid for n in shown for uid in n.mentioned_user_ids)
    rows = []
    for note in shown:
        conversation = conversations.get(note.conversation_id)
        contact = contacts.get(conversation.contact_id) if conversation else None
        rows.append(
            MentionRow(
                id=str(note.id),
                conversation_id=str(note.conversation_id),
                contact_name=contact.name if contact and contact.name else "",
                platform=conversation.platform if conversation else "",
                note_by=note.author_name or note.author,
                at=note.created_at,
                text=note.text,
                parts=highlight(note.text, note.mentioned_user_ids, handles),
            )
        )
    context = page_context(
        request,
        "inbox",
        rows=rows,
        next_cursor=next_cursor([n.id for n in found], PAGE),
        total=await mention_count(principal),
    )
    return Template(template_name="inbox_mentions.html", context=context)

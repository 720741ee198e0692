"""@mentions in private notes: who a note names, and the note's text split for highlighting.

A member's handles are the local part of their email (`@li.wei` for li.wei@example.com) and their display name
with the spaces taken out (`@MiaChen` for "Mia Chen", `@张伟` for "张伟"), both matched without regard to case.
An `@` counts only where it does not continue a word (so `mia@example.com` mentions nobody); the longest handle
that follows it wins, and an ASCII handle must end where the word does (`@admins` is not `@admin`), while a
Chinese one may run straight into the sentence (`@张伟请看一下`).

A mention names a member only if that member can see the conversation (an agent: its channel or team); a handle
that names nobody, names several members, or names someone out of reach stays plain text and is reported back
as unresolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from beanie import PydanticObjectId

from scrm.models import Conversation, Membership, Role, User, WorkspaceScope

_AT = re.compile(r"(?<![A-Za-z0-9_.+\-])@")
_TOKEN = re.compile(r"[\w.+\-]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9_+\-]|\.[A-Za-z0-9_]")

Handles = dict[str, set[PydanticObjectId]]
"""Handle (lower case) to the members who have it."""


@dataclass(frozen=True, slots=True)
class Found:
    """One `@handle` in a text: where it is, the handle as written, and the member it names (None: nobody)."""

    start: int
    end: int
    handle: str
    user_id: PydanticObjectId | None


@dataclass(frozen=True, slots=True)
class Mentions:
    """The members a note mentions (in order, once each) and the handles that named nobody within reach."""

    user_ids: list[PydanticObjectId] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def handles_of(user: User) -> set[str]:
    """A user's handles, lower case: their email's local part and their display name without spaces."""
    local = user.email.partition("@")[0].lower()
    name = "".join(user.display_name.split()).lower()
    return {handle for handle in (local, name) if handle}


def handle_map(users: Iterable[User]) -> Handles:
    """Every handle of these users, to the users who have it."""
    handles: Handles = {}
    for user in users:
        if user.id is not None and not user.disabled:
            for handle in handles_of(user):
                handles.setdefault(handle, set()).add(user.id)
    return handles


def scan(text: str, handles: Handles) -> list[Found]:
    """Every `@` of the text that starts a mention: named (one member has the handle) or not."""
    by_length = sorted(handles, key=len, reverse=True)
    found: list[Found] = []
    position = 0
    for at in _AT.finditer(text):
        start = at.start()
        if start < position:
            continue
        rest = start + 1
        match = next((h for h in by_length if _matches(text, rest, h)), None)
        if match is not None and len(handles[match]) == 1:
            end = rest + len(match)
            found.append(Found(start, end, text[rest:end], next(iter(handles[match]))))
            position = end
            continue
        token = _TOKEN.match(text, rest)
        written = token.group().rstrip(".+-") if token else ""
        if written:
            found.append(Found(start, rest + len(written), written, None))
            position = rest + len(written)
    return found


def _matches(text: str, at: int, handle: str) -> bool:
    end = at + len(handle)
    if text[at:end].lower() != handle:
        return False
    return not (handle[-1].isascii() and _ASCII_WORD.match(text, end))


def can_see(member: Membership, conversation: Conversation) -> bool:
    """May this member see the conversation: everyone but an agent, an agent on its channel or team?"""
    if member.role is not Role.AGENT:
        return True
    if conversation.channel_id in member.channel_ids:
        return True
    return conversation.team_id is not None and conversation.team_id in member.team_ids


async def resolve(scope: WorkspaceScope, conversation: Conversation, text: str) -> Mentions:
    """The members of the workspace a note on this conversation mentions, and the handles left unresolved."""
    memberships = {m.user_id: m for m in await scope.find(Membership, {}).to_list()}
    users = await User.find({"_id": {"$in": list(memberships)}}).to_list()
    user_ids: list[PydanticObjectId] = []
    unresolved: list[str] = []
    for mention in scan(text, handle_map(users)):
        uid = mention.user_id
        if uid is not None and can_see(memberships[uid], conversation):
            if uid not in user_ids:
                user_ids.append(uid)
        elif mention.handle not in unresolved:
            unresolved.append(mention.handle)
    return Mentions(user_ids, unresolved)


async def mention_handles(user_ids: Iterable[PydanticObjectId]) -> Handles:
    """The handles of these users (those a set of notes mentions), to highlight them where they are written."""
    wanted = sorted(set(user_ids))
    return handle_map(await User.find({"_id": {"$in": wanted}}).to_list()) if wanted else {}


def highlight(text: str, mentioned: Iterable[PydanticObjectId], handles: Handles) -> tuple[tuple[str, bool], ...]:
    """The text as pieces, each plain text (False) or a mention of one of `mentioned` (True), to render escaped."""
    named = set(mentioned)
    pieces: list[tuple[str, bool]] = []
    position = 0
    for mention in scan(text, handles):
        if mention.user_id is None or mention.user_id not in named:
            continue
        if mention.start > position:
            pieces.append((text[position : mention.start], False))
        pieces.append((text[mention.start : mention.end], True))
        position = mention.end
    if position < len(text):
        pieces.append((text[position:], False))
    return tuple(pieces)

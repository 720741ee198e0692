"""Canned responses: replies saved once and inserted into the reply box by shortcode.

A canned response is the workspace's (`owner_user_id` None; admins and owners manage those) or personal (the
member who saved it, or the API token, is the only one to see it; anyone who works the inbox keeps their own).
Its `language` (`en`, `zh-CN`, or None for any) lets the list offer the contact's language first.

Variables, rendered for one conversation (`render`):

- `{contact.name}`: the contact's name (else a display name or username of theirs);
- `{contact.first_name}`: the first word of that name (a name written without spaces, as most Chinese names are,
  is kept whole);
- `{agent.name}`: the display name of the member replying (else the part of their email before `@`);
- `{channel.name}`: the name of the conversation's channel;
- `{workspace.name}`: the workspace's display name (else its short name).

A value that is missing renders as an empty string. Any other `{name}` or `{name.part}` is refused when saving.
A canned response only fills the reply box; sending still goes through `replies.reply`, with its window
check and idempotency key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.actions import get_conversation
from scrm.inbox.conversations import InboxInputError, contact_name
from scrm.inbox.replies import MAX_REPLY_LENGTH
from scrm.models import CannedResponse, Channel, Contact, NotInWorkspace, Role, User, Workspace

NAME = re.compile(r"^[\w-]{1,40}$")
LANGUAGES = ("en", "zh-CN")
VARIABLES = ("contact.name", "contact.first_name", "agent.name", "channel.name", "workspace.name")
VARIABLE = re.compile(r"\{\s*([^\W\d][\w.]*)\s*\}")
SHARERS = frozenset({Role.OWNER, Role.ADMIN})


class CannedRefused(Exception):
    """The principal may not save or change a workspace-wide canned response (403 in the API)."""


def owner_of(principal: Principal) -> PydanticObjectId | None:
    """Who owns the principal's personal canned responses: the signed-in user, or the API token itself."""
    kind, _, value = principal.actor.partition(":")
    return PydanticObjectId(value) if kind in ("user", "token") and PydanticObjectId.is_valid(value) else None


def may_share(principal: Principal) -> bool:
    """May the principal manage the workspace's canned responses (admins and owners)?"""
    return principal.role in SHARERS


def unknown_variables(text: str) -> list[str]:
    """The variables of `text` that `render` does not know, in order of appearance."""
    found = [m.group(1) for m in VARIABLE.finditer(text)]
    return list(dict.fromkeys(v for v in found if v not in VARIABLES))


def _checked(name: str, text: str, language: str | None) -> tuple[str, str]:
    """The name (lower case) and text as stored; InboxInputError when either (or the language) is unusable."""
    if not NAME.match(name):
        raise InboxInputError("A canned response's name has 1 to 40 letters, digits, _ or -")
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_REPLY_LENGTH:
        raise InboxInputError(f"A canned response has 1 to {MAX_REPLY_LENGTH} characters")
    unknown = unknown_variables(cleaned)
    if unknown:
        listed = ", ".join("{" + v + "}" for v in unknown)
        known = ", ".join("{" + v + "}" for v in VARIABLES)
        raise InboxInputError(f"Unknown variable {listed}; the variables are {known}")
    if language is not None and language not in LANGUAGES:
        raise InboxInputError(f"A canned response's language is one of {', '.join(LANGUAGES)}, or none for any")
    return name.lower(), cleaned


def _visible(principal: Principal) -> dict[str, Any]:
    """The filter of the canned responses the principal sees: the workspace's and their own."""
    return {"owner_user_id": {"$in": [None, owner_of(principal)]}}


def _primary(language: str | None) -> str:
    return (language or "").split("-")[0].split("_")[0].lower()


def by_language(found: list[CannedResponse], language: str | None) -> list[CannedResponse]:
    """`found` with those in `language` first (`zh` matches `zh-CN`), then those for any language, then others;
    personal ones before the workspace's, then by name."""
    wanted = _primary(language)

    def rank(canned: CannedResponse) -> tuple[int, int, str]:
        same = canned.language is not None and bool(wanted) and _primary(canned.language) == wanted
        place = 0 if same else 1 if canned.language is None else 2
        return place, 0 if canned.owner_user_id is not None else 1, canned.name

    return sorted(found, key=rank)


async def canned_responses(
    principal: Principal, mine: bool | None = None, language: str | None = None
) -> list[CannedResponse]:
    """The canned responses the principal sees, by name; `mine` True: only personal ones, False: only the
    workspace's; `language`: only those in that language or for any, that language first."""
    filters: dict[str, Any] = _visible(principal)
    if mine is not None:
        filters = {"owner_user_id": owner_of(principal) if mine else None}
        if mine and owner_of(principal) is None:
            return []
    if language is not None:
        filters = {**filters, "language": {"$in": [None, language]}}
    found = await principal.scope.find(CannedResponse, filters).sort("+name").to_list()
    return by_language(found, language) if language is not None else found


async def for_conversation(principal: Principal, conversation_id: PydanticObjectId) -> list[CannedResponse]:
    """The canned responses offered in a conversation's reply box: the contact's language first."""
    conversation = await get_conversation(principal, conversation_id)
    contact = await principal.scope.find_one(Contact, {"_id": conversation.contact_id})
    found = await principal.scope.find(CannedResponse, _visible(principal)).sort("+name").to_list()
    return by_language(found, contact.language if contact else None)


async def by_shortcode(principal: Principal, name: str) -> CannedResponse:
    """The canned response the principal means by `/name`: their own first, else the workspace's."""
    found = await principal.scope.find(CannedResponse, _visible(principal), {"name": name.lower()}).to_list()
    if not found:
        raise NotInWorkspace(f"No canned response /{name}")
    return min(found, key=lambda c: c.owner_user_id is None)


async def get_canned(principal: Principal, canned_id: PydanticObjectId) -> CannedResponse:
    """One canned response the principal sees; NotInWorkspace otherwise (another member's personal one too)."""
    return await principal.scope.get(CannedResponse, canned_id, _visible(principal))


def _may_change(principal: Principal, canned: CannedResponse) -> None:
    if canned.owner_user_id is None and not may_share(principal):
        raise CannedRefused("Only admins and owners change the workspace's canned responses; save a personal one")


async def save_canned(
    principal: Principal,
    name: str,
    text: str,
    now: datetime,
    *,
    personal: bool | None = None,
    language: str | None = None,
) -> CannedResponse:
    """Store a new canned response; a name the owner already uses is a DuplicateKeyError (409 in the API).

    `personal` None: the workspace's when the principal may share (admins, owners), else personal."""
    key, cleaned = _checked(name, text, language)
    personal = not may_share(principal) if personal is None else personal
    if not personal and not may_share(principal):
        raise CannedRefused("Only admins and owners save canned responses for the whole workspace")
    owner = owner_of(principal) if personal else None
    if personal and owner is None:
        raise InboxInputError("Only a signed-in member or an API token keeps personal canned responses")
    canned = CannedResponse(
        workspace_id=principal.workspace_id,
        name=key,
        text=cleaned,
        created_by=principal.actor,
        created_at=now,
        owner_user_id=owner,
        language=language,
    )
    return await principal.scope.insert(canned)


async def change_canned(
    principal: Principal,
    canned_id: PydanticObjectId,
    name: str | None,
    text: str | None,
    changes: Mapping[str, str | None] | None = None,
) -> CannedResponse:
    """Rename or rewrite a canned response; `changes` may hold a new `language` (None: any)."""
    canned = await get_canned(principal, canned_id)
    _may_change(principal, canned)
    language = (changes or {}).get("language", canned.language)
    canned.name, canned.text = _checked(name or canned.name, canned.text if text is None else text, language)
    canned.language = language
    return await principal.scope.replace(canned)


async def delete_canned(principal: Principal, canned_id: PydanticObjectId) -> None:
    """Remove a canned response."""
    canned = await get_canned(principal, canned_id)
    _may_change(principal, canned)
    await principal.scope.delete(canned)


async def render(principal: Principal, canned: CannedResponse, conversation_id: PydanticObjectId) -> str:
    """The canned response's text with its variables filled in for a conversation the principal may see."""
    conversation = await get_conversation(principal, conversation_id)
    contact = await principal.scope.find_one(Contact, {"_id": conversation.contact_id})
    channel = await principal.scope.find_one(Channel, {"_id": conversation.channel_id})
    workspace = await Workspace.get(principal.workspace_id)
    kind, _, value = principal.actor.partition(":")
    user = await User.get(PydanticObjectId(value)) if kind == "user" and PydanticObjectId.is_valid(value) else None
    name = contact_name(contact) if contact else ""
    name = "" if name == "?" else name
    values = {
        "contact.name": name,
        "contact.first_name": name.split()[0] if name.split() else "",
        "agent.name": (user.display_name or user.email.split("@")[0]) if user else "",
        "channel.name": channel.name if channel else "",
        "workspace.name": (workspace.display_name or workspace.name) if workspace else "",
    }
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), canned.text)

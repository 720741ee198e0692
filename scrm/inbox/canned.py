"""Canned responses: replies the team saves once and inserts into the reply box by name.

A canned response only fills the reply box; sending still goes through `replies.reply`, with its window
check and idempotency key.
"""

from __future__ import annotations

import re
from datetime import datetime

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.replies import MAX_REPLY_LENGTH
from scrm.models import CannedResponse

NAME = re.compile(r"^[\w-]{1,40}$")


def _checked(name: str, text: str) -> tuple[str, str]:
    """The name (lower case) and text as stored; InboxInputError when either is unusable."""
    if not NAME.match(name):
        raise InboxInputError("A canned response's name has 1 to 40 letters, digits, _ or -")
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_REPLY_LENGTH:
        raise InboxInputError(f"A canned response has 1 to {MAX_REPLY_LENGTH} characters")
    return name.lower(), cleaned


async def canned_responses(principal: Principal) -> list[CannedResponse]:
    """The workspace's canned responses by name."""
    return await principal.scope.find(CannedResponse).sort("+name").to_list()


async def get_canned(principal: Principal, canned_id: PydanticObjectId) -> CannedResponse:
    """One canned response of the workspace; NotInWorkspace otherwise."""
    return await principal.scope.get(CannedResponse, canned_id)


async def save_canned(principal: Principal, name: str, text: str, now: datetime) -> CannedResponse:
    """Store a new canned response; a name already taken is a DuplicateKeyError (409 in the API)."""
    key, cleaned = _checked(name, text)
    canned = CannedResponse(
        workspace_id=principal.workspace_id, name=key, text=cleaned, created_by=principal.actor, created_at=now
    )
    return await principal.scope.insert(canned)


async def change_canned(
    principal: Principal, canned_id: PydanticObjectId, name: str | None, text: str | None
) -> CannedResponse:
    """Rename or rewrite a canned response."""
    canned = await get_canned(principal, canned_id)
    canned.name, canned.text = _checked(name or canned.name, canned.text if text is None else text)
    return await principal.scope.replace(canned)


async def delete_canned(principal: Principal, canned_id: PydanticObjectId) -> None:
    """Remove a canned response."""
    await principal.scope.delete(await get_canned(principal, canned_id))

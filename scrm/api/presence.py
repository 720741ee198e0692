"""`/api/v1/conversations/{id}/presence`: who else has a conversation open, and saying that the caller has.

The same presence the web inbox shows (`scrm.inbox.presence`): an API client that works a conversation puts
its presence every few seconds (`viewing`, or `typing` while its user types) and deletes it when done; rows
not renewed vanish after `ttl_seconds`. An agent reaches only the conversations of their channels and teams:
any other is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from litestar import Controller, delete, get, put
from litestar.params import FromPath, JSONBody

from scrm.api.inbox import INBOX_ERRORS, READ, WORK
from scrm.api.security import Caller, Now
from scrm.auth.roles import Principal
from scrm.inbox import presence
from scrm.inbox.actions import parse_conversation_id
from scrm.models import PresenceState


class PresenceIn(msgspec.Struct, forbid_unknown_fields=True):
    """What the caller is doing in the conversation."""

    state: Literal["viewing", "typing"] = "viewing"


class PresentOut(msgspec.Struct):
    """Someone else in the conversation."""

    actor: str
    user_id: str | None
    display_name: str
    state: str
    seen_at: datetime


class PresenceOut(msgspec.Struct):
    """Everyone but the caller who has the conversation open, typing first; poll again within `ttl_seconds`."""

    items: list[PresentOut]
    poll_seconds: int = presence.POLL_SECONDS
    ttl_seconds: int = int(presence.PRESENCE_TTL.total_seconds())


async def present_out(principal: Principal, conversation_id: str, now: datetime) -> PresenceOut:
    """The others present in a conversation the principal may see."""
    found = await presence.others_present(principal, parse_conversation_id(conversation_id), now)
    return PresenceOut(
        [
            PresentOut(p.actor, str(p.user_id) if p.user_id else None, p.display_name, p.state.value, p.seen_at)
            for p in found
        ]
    )


class PresenceController(Controller):
    """Presence in one conversation: the collision indicator of the inbox."""

    path = "/conversations/{conversation_id:str}/presence"
    tags = ("conversations",)
    exception_handlers = INBOX_ERRORS

    @get("/", guards=READ, summary="Who else has the conversation open")
    async def show(self, principal: Caller, conversation_id: FromPath[str], now: Now) -> PresenceOut:
        """The others viewing or typing in the conversation (never the caller); 404 out of reach."""
        return await present_out(principal, conversation_id, now)

    @put(
        "/",
        guards=WORK,
        summary="Say that the caller has the conversation open (viewing or typing)",
        description="Renew it within `ttl_seconds` (every `poll_seconds`) or it lapses; answers who else is there.",
    )
    async def put_presence(
        self, principal: Caller, conversation_id: FromPath[str], data: JSONBody[PresenceIn], now: Now
    ) -> PresenceOut:
        """Record the caller's presence and return the others present."""
        oid = parse_conversation_id(conversation_id)
        await presence.mark_present(principal, oid, PresenceState(data.state), now)
        return await present_out(principal, conversation_id, now)

    @delete("/", guards=WORK, summary="Leave the conversation", status_code=204)
    async def leave(self, principal: Caller, conversation_id: FromPath[str]) -> None:
        """Others stop seeing the caller in the conversation at once; 404 out of reach."""
        await presence.leave(principal, parse_conversation_id(conversation_id))

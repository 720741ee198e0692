"""The inbox's collision indicator and survey line: what the conversation page adds for them, and the poll's answer."""

from __future__ import annotations

from typing import Any

import msgspec
from beanie import PydanticObjectId
from litestar import Request
from litestar.response import Template

from scrm.auth.clock import now_of
from scrm.auth.roles import Permission, Principal
from scrm.inbox import presence
from scrm.inbox.actions import parse_conversation_id
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.csat import latest_survey
from scrm.models import PresenceState
from scrm.web.inbox.pages import form_principal, principal_of, signed_in_of
from scrm.web.pages import page_context

SIGNALS = {"viewing": PresenceState.VIEWING, "typing": PresenceState.TYPING}


class PresenceForm(msgspec.Struct):
    """What the page posts about me: typing (from the reply box) or left (the page went away)."""

    csrf_token: str = ""
    state: str = ""


def _my_name(request: Request[Any, Any, Any]) -> str:
    user = signed_in_of(request).user
    return user.display_name or user.email


async def presence_context(
    request: Request[Any, Any, Any], principal: Principal, conversation_id: PydanticObjectId
) -> dict[str, Any]:
    """Mark me as viewing the conversation and say who else is there (for the page as it is drawn)."""
    now = now_of(request.app.state)
    await presence.mark_present(principal, conversation_id, PresenceState.VIEWING, now, _my_name(request))
    return {"present": await presence.others_present(principal, conversation_id, now)}


async def csat_context(principal: Principal, conversation_id: PydanticObjectId) -> dict[str, Any]:
    """The conversation's latest satisfaction survey, for the thread's last line."""
    return {"csat_survey": await latest_survey(principal.scope, conversation_id)}


async def presence_poll(request: Request[Any, Any, Any], conversation_id: str) -> Template:
    """The poll: renew my presence (viewing) and answer the others present, as the indicator's inside."""
    principal = principal_of(request)
    context = await presence_context(request, principal, parse_conversation_id(conversation_id))
    return _fragment(request, context)


async def presence_signal(request: Request[Any, Any, Any], conversation_id: str, data: PresenceForm) -> Template:
    """The reply box says I am typing, or the page says I left; answers the others present."""
    principal = form_principal(request, data, Permission.WORK_INBOX)
    oid = parse_conversation_id(conversation_id)
    now = now_of(request.app.state)
    if data.state == "left":
        await presence.leave(principal, oid)
        return _fragment(request, {"present": []})
    if data.state not in SIGNALS:
        raise InboxInputError(f"Unknown presence state {data.state!r}: viewing, typing or left")
    await presence.mark_present(principal, oid, SIGNALS[data.state], now, _my_name(request))
    return _fragment(request, {"present": await presence.others_present(principal, oid, now)})


def _fragment(request: Request[Any, Any, Any], context: dict[str, Any]) -> Template:
    extra = {**context, "presence_fragment": True}
    return Template(template_name="inbox_presence.html", context=page_context(request, "inbox", **extra))

"""What the inbox pages show: the list with its filters and counts, and one conversation with its side panel."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from beanie import PydanticObjectId
from litestar import Request
from litestar.exceptions import PermissionDeniedException

from scrm.auth.roles import Permission, Principal
from scrm.auth.ui.signed_in import SignedIn, check_csrf
from scrm.auth.visibility import channel_filter
from scrm.inbox.actions import labels_in_use
from scrm.inbox.conversations import COUNT_CAP, SORTS, list_conversations, user_id_of
from scrm.inbox.sla import SLA_FILTERS
from scrm.inbox.teams import list_teams
from scrm.inbox.view import ConversationView
from scrm.inbox.waiting import waited
from scrm.models import Channel
from scrm.web.inbox.filters import INTENTS, LANGUAGES, SENTIMENTS, STATUS_TABS, ListQuery
from scrm.web.inbox.sla_chip import MANAGE_SLA, chip_of

PAGE_SIZE = 30


def signed_in_of(request: Request[Any, Any, Any]) -> SignedIn:
    """The signed-in user of the request (the sign-in middleware lets no one else through)."""
    signed_in: SignedIn = request.scope["user"]
    return signed_in


def principal_of(request: Request[Any, Any, Any], permission: Permission = Permission.READ_CONTACTS) -> Principal:
    """The signed-in user as a principal of their workspace, allowed `permission`; 403 otherwise."""
    principal = signed_in_of(request).principal()
    if principal is None:
        raise PermissionDeniedException("You are not a member of a workspace yet.")
    if not principal.can(permission):
        raise PermissionDeniedException(f"The {principal.role.value} role may not do this ({permission.value}).")
    return principal


class SignedForm(Protocol):
    """A posted form carrying the session's CSRF token."""

    @property
    def csrf_token(self) -> str: ...


def form_principal(request: Request[Any, Any, Any], data: SignedForm, permission: Permission) -> Principal:
    """Who posted the form, allowed `permission`, once its CSRF token matches the session's; 403 otherwise."""
    check_csrf(signed_in_of(request).csrf_token, data.csrf_token)
    return principal_of(request, permission)


async def list_context(
    principal: Principal, query: ListQuery, cursor: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """The list, its counts and the filters' choices; `now` reads the SLA (by default the current time)."""
    now = now or datetime.now(UTC)
    listing = await list_conversations(principal, replace(query.to_filter(), now=now), cursor, PAGE_SIZE)
    channels = await principal.scope.find(Channel, channel_filter(principal)).sort("+name").to_list()
    return {
        "listing": listing,
        "query": query,
        "channels": channels,
        "labels": await labels_in_use(principal),
        "sentiments": SENTIMENTS,
        "intents": INTENTS,
        "tag_languages": LANGUAGES,
        "status_tabs": STATUS_TABS,
        "total": sum(listing.counts.values()),
        "cap": COUNT_CAP,
        "cursor": cursor or "",
        "can_work": principal.can(Permission.WORK_INBOX),
        "sla_chips": {row.conversation.id: chip_of(row.conversation.sla, now) for row in listing.rows},
        "sla_filters": SLA_FILTERS,
        "can_manage_sla": principal.can(MANAGE_SLA),
        "sorts": SORTS,
        "waited": {row.conversation.id: waited(row.conversation.waiting_since, now) for row in listing.rows},
        "bulk_teams": await list_teams(principal) if principal.can(Permission.WORK_INBOX) else [],
    }


def thread_context(request: Request[Any, Any, Any], principal: Principal) -> dict[str, Any]:
    """What a thread fragment needs besides its entries: the forms that correct a message's tags."""
    return {
        "csrf_token": signed_in_of(request).csrf_token,
        "can_work": principal.can(Permission.WORK_INBOX),
        "sentiments": SENTIMENTS,
        "intents": INTENTS,
    }


def conversation_context(
    request: Request[Any, Any, Any], principal: Principal, view: ConversationView, now: datetime
) -> dict[str, Any]:
    """What the conversation part of the page needs besides the view: who I am, a fresh reply token, CSRF."""
    me: PydanticObjectId | None = user_id_of(principal)
    return {
        "view": view,
        "me": me,
        "can_work": principal.can(Permission.WORK_INBOX),
        "can_edit_contact": principal.can(Permission.EDIT_CONTACTS),
        "csrf_token": signed_in_of(request).csrf_token,
        "idempotency_key": secrets.token_urlsafe(18),
        "now": now,
        "sla_chip": chip_of(view.conversation.sla, now),
        "reply_text": "",
        "error": None,
    }

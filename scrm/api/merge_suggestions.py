"""`/api/v1/merge-suggestions`: pairs of contacts that are probably one person, to merge or dismiss.

Suggestions are made when contacts appear (same phone number or email in one workspace); a person decides.
An agent sees a suggestion only when both of its contacts are within their channels and teams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, patch
from litestar.params import FromPath, JSONBody, QueryParameter

from scrm.api.merges import EDIT, MERGE_ERRORS, READ, ContactFilter, involving_filter, visible_filter
from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, before, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, Now
from scrm.auth.roles import Principal
from scrm.contacts.merge import MergeRefused
from scrm.models import MergeSuggestion, SuggestionStatus

PAIR = ("first_id", "second_id")
"""The fields naming the two contacts of a suggestion."""
StatusFilter = Annotated[
    Literal["open", "accepted", "dismissed"], QueryParameter(description="Only those in this status (default open).")
]


class SuggestionOut(msgspec.Struct):
    """Two contacts that are probably one person (the older first), and why."""

    id: str
    contact_ids: list[str]
    reason: str
    status: str
    created_at: datetime
    decided_at: datetime | None


class SuggestionPage(msgspec.Struct):
    """A page of suggestions, newest first, and the cursor of the next page (null on the last)."""

    items: list[SuggestionOut]
    next_cursor: str | None


class SuggestionPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Dismiss a suggestion (or open a dismissed one again); accepting one is done by merging."""

    status: Literal["dismissed", "open"]


def suggestion_out(suggestion: MergeSuggestion) -> SuggestionOut:
    """The API view of a merge suggestion."""
    return SuggestionOut(
        id=str(suggestion.id),
        contact_ids=[str(suggestion.first_id), str(suggestion.second_id)],
        reason=suggestion.reason,
        status=suggestion.status.value,
        created_at=suggestion.created_at,
        decided_at=suggestion.decided_at,
    )


async def suggestion_page(
    principal: Principal, contact: str | None, status: str, cursor: str | None, limit: int
) -> SuggestionPage:
    """One page of the suggestions in `status` whose contacts the principal may both see."""
    filters = await visible_filter(principal, PAIR), involving_filter(contact, PAIR), {"status": status}
    query = principal.scope.find(MergeSuggestion, *filters, before(parse_cursor(cursor)))
    found = await query.sort("-_id").limit(limit + 1).to_list()
    return SuggestionPage([suggestion_out(s) for s in found[:limit]], next_cursor([s.id for s in found], limit))


async def get_suggestion(principal: Principal, suggestion_id: str) -> MergeSuggestion:
    """A suggestion whose contacts the principal may both see; NotInWorkspace otherwise."""
    query = await visible_filter(principal, PAIR)
    return await principal.scope.get(MergeSuggestion, parse_id(suggestion_id, "merge suggestion"), query)


async def decide_suggestion(
    principal: Principal, suggestion_id: str, data: SuggestionPatch, now: datetime
) -> SuggestionOut:
    """Dismiss a suggestion, or open it again; an accepted one is settled by merge and unmerge only."""
    suggestion = await get_suggestion(principal, suggestion_id)
    if suggestion.status is SuggestionStatus.ACCEPTED:
        raise MergeRefused("This suggestion was accepted by a merge; undo the merge instead")
    suggestion.status = SuggestionStatus(data.status)
    opened = suggestion.status is SuggestionStatus.OPEN
    suggestion.decided_at, suggestion.decided_by = (None, "") if opened else (now, principal.actor)
    return suggestion_out(await principal.scope.replace(suggestion))


class MergeSuggestionsController(Controller):
    """Pairs of contacts that are probably the same person, waiting for someone to merge or dismiss them."""

    path = "/merge-suggestions"
    tags = ("contacts",)
    exception_handlers = MERGE_ERRORS

    @get("/", guards=READ, summary="List merge suggestions")
    async def list(
        self,
        principal: Caller,
        contact: ContactFilter = None,
        status: StatusFilter = "open",
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> SuggestionPage:
        """Suggestions whose contacts the caller may see, newest first, a page at a time."""
        return await suggestion_page(principal, contact, status, cursor, limit)

    @get("/{suggestion_id:str}", guards=READ, summary="One merge suggestion")
    async def get(self, principal: Caller, suggestion_id: FromPath[str]) -> SuggestionOut:
        """One suggestion (404 for any the caller may not see)."""
        return suggestion_out(await get_suggestion(principal, suggestion_id))

    @patch("/{suggestion_id:str}", guards=EDIT, summary="Dismiss or reopen a merge suggestion")
    async def update(
        self, principal: Caller, suggestion_id: FromPath[str], data: JSONBody[SuggestionPatch], now: Now
    ) -> SuggestionOut:
        """Dismiss a suggestion (it does not come back) or open it again."""
        return await decide_suggestion(principal, suggestion_id, data, now)

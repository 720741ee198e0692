"""Contact merging under `/api/v1`: suggestions, a preview, merge and unmerge, and the record of past merges.

Nothing merges by itself: suggestions only offer a pair, and a person merges after seeing the preview. Every
merge can be undone. An agent works only with contacts of their channels and teams; viewers read only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ExceptionHandlersMap

from scrm.api.contacts import ContactOut, contact_out, find_visible_contact
from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, before, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission, Principal
from scrm.auth.visibility import contact_filter
from scrm.contacts import merge_actions
from scrm.contacts.merge import MergeRefused, preview_merge
from scrm.models import Contact, MergeRecord
from scrm.problems import problem_response

ContactFilter = Annotated[str | None, QueryParameter(description="Only those involving this contact.")]


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    """Merge the contact in the path into `into`, the contact that stays."""

    into: str


class UnmergeIn(msgspec.Struct, forbid_unknown_fields=True):
    """Which merge to undo; may be left out for a merged contact, or a survivor of exactly one merge."""

    merge: str | None = None


class MergePreviewOut(msgspec.Struct):
    """What the merge would store: the surviving profile, and how many documents of each kind would move."""

    contact: ContactOut
    merged_id: str
    moves: dict[str, int]


class MergeOut(msgspec.Struct):
    """One merge: who merged which contact into which, what moved, and whether it was undone."""

    id: str
    survivor_id: str
    merged_id: str
    actor: str
    suggestion_id: str | None
    moved: dict[str, int]
    created_at: datetime
    undone_at: datetime | None


class MergePage(msgspec.Struct):
    """A page of merges, newest first, and the cursor of the next page (null on the last)."""

    items: list[MergeOut]
    next_cursor: str | None


class MergeOutcome(msgspec.Struct):
    """The merge done (or undone) and the contacts as they now are."""

    merge: MergeOut
    contacts: list[ContactOut]


def merge_out(record: MergeRecord) -> MergeOut:
    """The API view of a merge record."""
    return MergeOut(
        id=str(record.id),
        survivor_id=str(record.survivor_id),
        merged_id=str(record.merged_id),
        actor=record.actor,
        suggestion_id=None if record.suggestion_id is None else str(record.suggestion_id),
        moved={name: len(ids) for name, ids in record.moved.items()},
        created_at=record.created_at,
        undone_at=record.undone_at,
    )


async def visible_filter(principal: Principal, fields: tuple[str, ...]) -> dict[str, Any]:
    """Only items whose contacts (named in `fields`) the principal may see."""
    visible = await contact_filter(principal)
    return dict.fromkeys(fields, visible["_id"]) if visible else {}


def involving_filter(contact: str | None, fields: tuple[str, ...]) -> dict[str, Any]:
    """Only items naming `contact` in one of `fields` (no filter when `contact` is None)."""
    if contact is None:
        return {}
    wanted = parse_id(contact, "contact")
    return {"$or": [{name: wanted} for name in fields]}


async def preview(principal: Principal, contact_id: str, into: str) -> MergePreviewOut:
    """What merging `contact_id` into `into` would store."""
    visible = await contact_filter(principal)
    ids = parse_id(contact_id, "contact"), parse_id(into, "contact")
    found = await preview_merge(principal.scope, *ids, visible)
    return MergePreviewOut(contact=contact_out(found.result), merged_id=contact_id, moves=found.moves)


async def merge(principal: Principal, contact_id: str, data: MergeIn, now: datetime) -> MergeOutcome:
    """Merge one visible contact into another, audit it, and suggest merges the survivor now matches."""
    ids = parse_id(contact_id, "contact"), parse_id(data.into, "contact")
    record = await merge_actions.merge(principal, *ids, now)
    return await _outcome(principal, record, [record.survivor_id])


async def unmerge(principal: Principal, contact_id: str, data: UnmergeIn, now: datetime) -> MergeOutcome:
    """Undo a merge that involves a visible contact, and audit it."""
    contact = await find_visible_contact(principal, contact_id)
    assert contact.id is not None
    named = None if data.merge is None else parse_id(data.merge, "merge record")
    record = await merge_actions.unmerge(principal, contact.id, named, now)
    return await _outcome(principal, record, [record.survivor_id, record.merged_id])


async def _outcome(principal: Principal, record: MergeRecord, ids: list[PydanticObjectId]) -> MergeOutcome:
    contacts = [await principal.scope.get(Contact, contact_id) for contact_id in ids]
    return MergeOutcome(merge=merge_out(record), contacts=[contact_out(c) for c in contacts])


async def merge_page(principal: Principal, contact: str | None, cursor: str | None, limit: int) -> MergePage:
    """One page of the merges whose survivor the principal may see."""
    filters = await visible_filter(principal, ("survivor_id",)), involving_filter(contact, ("survivor_id", "merged_id"))
    query = principal.scope.find(MergeRecord, *filters, before(parse_cursor(cursor)))
    found = await query.sort("-_id").limit(limit + 1).to_list()
    return MergePage([merge_out(r) for r in found[:limit]], next_cursor([r.id for r in found], limit))


async def get_merge(principal: Principal, merge_id: str) -> MergeRecord:
    """A merge whose survivor the principal may see; NotInWorkspace otherwise."""
    query = await visible_filter(principal, ("survivor_id",))
    return await principal.scope.get(MergeRecord, parse_id(merge_id, "merge record"), query)


def _refused(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(409, str(exc))


MERGE_ERRORS: ExceptionHandlersMap = {MergeRefused: _refused}
READ = [requires(Permission.READ_CONTACTS)]
EDIT = [requires(Permission.EDIT_CONTACTS)]


class ContactMergesController(Controller):
    """Merging a contact into another, with a preview first, and undoing it."""

    path = "/contacts"
    tags = ("contacts",)
    exception_handlers = MERGE_ERRORS

    @get("/{contact_id:str}/merge-preview", guards=READ, summary="Preview merging a contact into another")
    async def preview(
        self,
        principal: Caller,
        contact_id: FromPath[str],
        into: Annotated[str, QueryParameter(description="The contact that would stay.")],
    ) -> MergePreviewOut:
        """The profile and the moves a merge into `into` would make; nothing changes."""
        return await preview(principal, contact_id, into)

    @post("/{contact_id:str}/merge", guards=EDIT, status_code=200, summary="Merge a contact into another")
    async def merge(
        self, principal: Caller, contact_id: FromPath[str], data: JSONBody[MergeIn], now: Now
    ) -> MergeOutcome:
        """Merge this contact into `into` (recorded in the audit log; undo with unmerge)."""
        return await merge(principal, contact_id, data, now)

    @post("/{contact_id:str}/unmerge", guards=EDIT, status_code=200, summary="Undo a merge")
    async def unmerge(
        self, principal: Caller, contact_id: FromPath[str], data: JSONBody[UnmergeIn], now: Now
    ) -> MergeOutcome:
        """Put back both contacts of a merge this contact was part of (recorded in the audit log)."""
        return await unmerge(principal, contact_id, data, now)


class MergesController(Controller):
    """Merges done, so that any of them can be looked at and undone."""

    path = "/merges"
    tags = ("contacts",)

    @get("/", guards=READ, summary="List merges")
    async def list(
        self, principal: Caller, contact: ContactFilter = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> MergePage:
        """Merges whose surviving contact the caller may see, newest first, a page at a time."""
        return await merge_page(principal, contact, cursor, limit)

    @get("/{merge_id:str}", guards=READ, summary="One merge")
    async def get(self, principal: Caller, merge_id: FromPath[str]) -> MergeOut:
        """One merge (404 for any the caller may not see)."""
        return merge_out(await get_merge(principal, merge_id))

"""Merge two contacts into one, preview what a merge would do, and undo a merge — each in one transaction.

A merge moves the merged contact's identities to the survivor, repoints everything that names the merged
contact (conversations, messages, outbound messages, comments, posts, follows) and marks it `merged_into`
the survivor. The merged contact is kept, not deleted: its identities now resolve to the survivor (and
`merged_into` is followed by any lookup that still reaches it), and unmerge restores it from the MergeRecord,
which names exactly what moved. All writes of a merge (or an unmerge) happen in one MongoDB transaction, so a
crash half-way leaves both contacts as they were. The record lists every moved id, which bounds one merge to
a few hundred thousand documents (MongoDB's 16 MB document limit).

Unmerge gives back exactly what the merge moved, plus whatever arrived since in a conversation that goes
back (a new message in the merged person's own thread is theirs). Everything else that arrived after the
merge — new conversations, comments, follows — stays with the survivor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from beanie import PydanticObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from scrm.contacts.profiles import changed_fields, combined, restored_fields
from scrm.models import (
    Comment,
    Contact,
    Conversation,
    Follow,
    MergeRecord,
    MergeSuggestion,
    Message,
    NotInWorkspace,
    OutboundMessage,
    Post,
    SuggestionStatus,
    WorkspaceScope,
)
from scrm.models.base import WorkspaceDocument
from scrm.models.contact import SEARCHED_FIELDS, contact_terms

T = TypeVar("T")
MOVABLE: tuple[tuple[type[WorkspaceDocument], str], ...] = (
    (Conversation, "contact_id"),
    (Message, "contact_id"),
    (OutboundMessage, "contact_id"),
    (Comment, "contact_id"),
    (Post, "author_contact_id"),
    (Follow, "contact_id"),
)
"""Every document that names a contact, and the field that names it."""
THREAD_FOLLOWERS: tuple[type[WorkspaceDocument], ...] = (Message, OutboundMessage)
"""Documents that go back with their conversation on unmerge, even when they arrived after the merge."""


class MergeRefused(ValueError):
    """A merge or unmerge that cannot be done as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class MergePreview:
    """What a merge would store: the survivor's resulting profile and how many documents of each kind move."""

    result: Contact
    merged: Contact
    moves: dict[str, int]


def collection_of(model: type[WorkspaceDocument]) -> str:
    """The collection name of a document class (`messages`)."""
    return str(model.get_pymongo_collection().name)


async def preview_merge(
    scope: WorkspaceScope, contact_id: PydanticObjectId, into_id: PydanticObjectId, visible: Mapping[str, Any]
) -> MergePreview:
    """The profile and the moves that merging `contact_id` into `into_id` would make; nothing is written."""
    merged, survivor = await _pair(scope, contact_id, into_id, visible)
    moves = {collection_of(model): await scope.count(model, {field: contact_id}) for model, field in MOVABLE}
    return MergePreview(result=combined(survivor, merged), merged=merged, moves=moves)


async def merge_contacts(
    scope: WorkspaceScope,
    contact_id: PydanticObjectId,
    into_id: PydanticObjectId,
    visible: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> MergeRecord:
    """Merge `contact_id` into `into_id` (the survivor) in one transaction, and return the record of it.

    Raises NotInWorkspace for a contact the caller may not see, MergeRefused for a contact merged already or
    a contact merged into itself. Accepts the suggestion for the pair, if there is one.
    """
    await _pair(scope, contact_id, into_id, visible)
    record = MergeRecord(
        workspace_id=scope.workspace_id, created_at=now, survivor_id=into_id, merged_id=contact_id, actor=actor
    )
    record.id = PydanticObjectId()

    async def work(session: AsyncClientSession) -> MergeRecord:
        return await _merge_writes(session, record, now)

    return await _in_transaction(work)


async def unmerge_contacts(scope: WorkspaceScope, record: MergeRecord, *, actor: str, now: datetime) -> MergeRecord:
    """Undo a merge in one transaction: both contacts as they were, and what moved moved back.

    Raises MergeRefused when the merge was undone already or the survivor has since been merged into another
    contact (undo that merge first).
    """
    if record.workspace_id != scope.workspace_id:
        raise NotInWorkspace(f"No merge record {record.id} in this workspace")
    if record.undone_at is not None:
        raise MergeRefused(f"Merge {record.id} was already undone")

    async def work(session: AsyncClientSession) -> MergeRecord:
        return await _unmerge_writes(session, record, actor, now)

    return await _in_transaction(work)


async def get_merge_to_undo(
    scope: WorkspaceScope, contact_id: PydanticObjectId, record_id: PydanticObjectId | None
) -> MergeRecord:
    """The merge to undo for this contact: the one named, or the contact's own merge, or the survivor's only one.

    Raises NotInWorkspace for a record that does not involve the contact, MergeRefused when the choice is not
    clear (a survivor of several merges must name the record).
    """
    involved = {"$or": [{"survivor_id": contact_id}, {"merged_id": contact_id}]}
    if record_id is not None:
        return await scope.get(MergeRecord, record_id, involved)
    own = await scope.find(MergeRecord, {"merged_id": contact_id, "undone_at": None}).sort("-_id").first_or_none()
    if own is not None:
        return own
    kept = await scope.find(MergeRecord, {"survivor_id": contact_id, "undone_at": None}).limit(2).to_list()
    if not kept:
        raise MergeRefused(f"Contact {contact_id} has no merge to undo")
    if len(kept) > 1:
        raise MergeRefused(f"Contact {contact_id} survived several merges: name the one to undo with `merge`")
    return kept[0]


async def _pair(
    scope: WorkspaceScope, contact_id: PydanticObjectId, into_id: PydanticObjectId, visible: Mapping[str, Any]
) -> tuple[Contact, Contact]:
    """The contact to merge and the survivor, both visible and neither merged already."""
    merged = await scope.get(Contact, contact_id, visible)
    survivor = await scope.get(Contact, into_id, visible)
    if contact_id == into_id:
        raise MergeRefused("A contact cannot be merged into itself")
    for contact in (merged, survivor):
        if contact.merged_into is not None:
            raise MergeRefused(f"Contact {contact.id} is already merged into {contact.merged_into}")
    return merged, survivor


async def _in_transaction(work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction, retried by the driver on transient errors; any exception aborts it."""
    client = Contact.get_pymongo_collection().database.client
    async with client.start_session() as session:
        return await session.with_transaction(work)


async def _load(session: AsyncClientSession, workspace_id: PydanticObjectId, contact_id: Any) -> dict[str, Any]:
    found = await Contact.get_pymongo_collection().find_one(
        {"_id": contact_id, "workspace_id": workspace_id}, session=session
    )
    if found is None:
        raise NotInWorkspace(f"No contact {contact_id} in this workspace")
    document: dict[str, Any] = found
    return document


async def _merge_writes(session: AsyncClientSession, record: MergeRecord, now: datetime) -> MergeRecord:
    """Every write of a merge, inside the transaction, in an order the unique identity index accepts."""
    ws, contacts = record.workspace_id, Contact.get_pymongo_collection()
    merged_doc = await _load(session, ws, record.merged_id)
    survivor_doc = await _load(session, ws, record.survivor_id)
    if merged_doc.get("merged_into") or survivor_doc.get("merged_into"):
        raise MergeRefused("One of the contacts was merged meanwhile")
    merged, survivor = Contact.model_validate(merged_doc), Contact.model_validate(survivor_doc)
    result = combined(survivor, merged)
    record.survivor_before, record.survivor_after = changed_fields(survivor, result)
    record.merged_before = merged_doc
    record.identity_keys = [identity.key for identity in merged.identities]
    record.moved = await _repoint(session, ws, record.merged_id, record.survivor_id)
    # The identities leave the merged contact before the survivor takes them: the key index is unique.
    merged_set = {"identities": [], "merged_into": record.survivor_id, "search_terms": []}
    await contacts.update_one({"_id": record.merged_id, "workspace_id": ws}, {"$set": merged_set}, session=session)
    survivor_set = {**record.survivor_after, "identities": [i.model_dump() for i in result.identities]}
    survivor_set["search_terms"] = contact_terms(result.model_dump(include=set(SEARCHED_FIELDS)))
    await contacts.update_one({"_id": record.survivor_id, "workspace_id": ws}, {"$set": survivor_set}, session=session)
    record.suggestion_id = await _accept_suggestion(session, record, now)
    await _write_record(session, record)
    return record


async def _repoint(
    session: AsyncClientSession, workspace_id: PydanticObjectId, source: PydanticObjectId, target: PydanticObjectId
) -> dict[str, list[PydanticObjectId]]:
    """Point every document naming `source` at `target`; returns the ids moved, per collection."""
    moved: dict[str, list[PydanticObjectId]] = {}
    for model, field in MOVABLE:
        collection = model.get_pymongo_collection()
        rows = await collection.find(
            {"workspace_id": workspace_id, field: source}, {"_id": 1}, session=session
        ).to_list()
        ids = [PydanticObjectId(row["_id"]) for row in rows]
        if ids:
            query = {"workspace_id": workspace_id, "_id": {"$in": ids}}
            await collection.update_many(query, {"$set": {field: target}}, session=session)
        moved[collection.name] = ids
    return moved


async def _write_record(session: AsyncClientSession, record: MergeRecord) -> None:
    document = record.model_dump(by_alias=True)
    await MergeRecord.get_pymongo_collection().insert_one(document, session=session)


async def _accept_suggestion(
    session: AsyncClientSession, record: MergeRecord, now: datetime
) -> PydanticObjectId | None:
    """Accept the pair's suggestion; set aside the merged contact's other open ones (unmerge reopens them)."""
    suggestions, ws = MergeSuggestion.get_pymongo_collection(), record.workspace_id
    first, second = sorted((record.merged_id, record.survivor_id))
    decided = {"status": SuggestionStatus.ACCEPTED.value, "decided_at": now, "decided_by": record.actor}
    pair = {"workspace_id": ws, "first_id": first, "second_id": second}
    accepted = await suggestions.find_one_and_update(pair, {"$set": decided}, {"_id": 1}, session=session)
    others = {"workspace_id": ws, "status": SuggestionStatus.OPEN.value}
    others["$or"] = [{"first_id": record.merged_id}, {"second_id": record.merged_id}]
    aside = {"status": SuggestionStatus.DISMISSED.value, "decided_at": now, "decided_by": f"merge:{record.id}"}
    await suggestions.update_many(others, {"$set": aside}, session=session)
    return None if accepted is None else PydanticObjectId(accepted["_id"])


async def _unmerge_writes(session: AsyncClientSession, record: MergeRecord, actor: str, now: datetime) -> MergeRecord:
    """Every write of an unmerge, inside the transaction: survivor first (it gives the identities back)."""
    ws, contacts = record.workspace_id, Contact.get_pymongo_collection()
    survivor_doc = await _load(session, ws, record.survivor_id)
    merged_doc = await _load(session, ws, record.merged_id)
    if survivor_doc.get("merged_into") is not None:
        raise MergeRefused(
            f"Contact {record.survivor_id} has since been merged into {survivor_doc['merged_into']}: undo that first"
        )
    if merged_doc.get("merged_into") != record.survivor_id:
        raise MergeRefused(f"Contact {record.merged_id} is no longer merged into {record.survivor_id}")
    restored = restored_fields(Contact.model_validate(survivor_doc), record.survivor_before, record.survivor_after)
    survivor_update: dict[str, Any] = {"$pull": {"identities": {"key": {"$in": record.identity_keys}}}}
    if restored:
        survivor_update["$set"] = restored
    await contacts.update_one({"_id": record.survivor_id, "workspace_id": ws}, survivor_update, session=session)
    survivor_now = await _load(session, ws, record.survivor_id)
    terms = {"$set": {"search_terms": contact_terms(survivor_now)}}
    await contacts.update_one({"_id": record.survivor_id, "workspace_id": ws}, terms, session=session)
    restored_merged = {**record.merged_before, "search_terms": contact_terms(record.merged_before)}
    await contacts.replace_one({"_id": record.merged_id, "workspace_id": ws}, restored_merged, session=session)
    await _repoint_back(session, record)
    done = {"$set": {"undone_at": now, "undone_by": actor}}
    marked = await MergeRecord.get_pymongo_collection().update_one(
        {"_id": record.id, "workspace_id": ws, "undone_at": None}, done, session=session
    )
    if marked.modified_count != 1:
        raise MergeRefused(f"Merge {record.id} was already undone")
    await _reopen_suggestions(session, record, actor, now)
    record.undone_at, record.undone_by = now, actor
    return record


async def _repoint_back(session: AsyncClientSession, record: MergeRecord) -> None:
    """Give back what moved (where it still names the survivor) and what arrived since in a returned thread."""
    ws, survivor, merged = record.workspace_id, record.survivor_id, record.merged_id
    for model, field in MOVABLE:
        collection = model.get_pymongo_collection()
        ids = record.moved.get(collection.name, [])
        if ids:
            query = {"workspace_id": ws, "_id": {"$in": ids}, field: survivor}
            await collection.update_many(query, {"$set": {field: merged}}, session=session)
    threads = record.moved.get(collection_of(Conversation), [])
    if threads:
        for model in THREAD_FOLLOWERS:
            query = {"workspace_id": ws, "conversation_id": {"$in": threads}, "contact_id": survivor}
            await model.get_pymongo_collection().update_many(query, {"$set": {"contact_id": merged}}, session=session)


async def _reopen_suggestions(session: AsyncClientSession, record: MergeRecord, actor: str, now: datetime) -> None:
    """The pair's suggestion counts as dismissed (a person said they differ); the ones set aside reopen."""
    suggestions, ws = MergeSuggestion.get_pymongo_collection(), record.workspace_id
    if record.suggestion_id is not None:
        dismissed = {"status": SuggestionStatus.DISMISSED.value, "decided_at": now, "decided_by": actor}
        pair = {"_id": record.suggestion_id, "workspace_id": ws}
        await suggestions.update_one(pair, {"$set": dismissed}, session=session)
    reopened: dict[str, Any] = {"status": SuggestionStatus.OPEN.value, "decided_at": None, "decided_by": ""}
    set_aside = {"workspace_id": ws, "decided_by": f"merge:{record.id}"}
    await suggestions.update_many(set_aside, {"$set": reopened}, session=session)

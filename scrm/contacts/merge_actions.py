"""Merging as a person does it, from the API or the inbox's contact panel: within reach, audited, undoable.

`merge.py` does the writes; this module adds what a person's merge needs around them: only contacts the
principal may see, an audit entry for every merge and unmerge, new suggestions for the survivor, and the
choices the panel offers (open suggestions, a search for the contact to merge with, the merge history).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.auth.roles import Principal
from scrm.auth.visibility import contact_filter
from scrm.contacts.merge import MergePreview, get_merge_to_undo, merge_contacts, preview_merge, unmerge_contacts
from scrm.contacts.suggestions import suggest_for_new_contacts
from scrm.models import AuditAction, Contact, MergeRecord, MergeSuggestion, SuggestionStatus

SEARCH_LIMIT = 10
HISTORY_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Suggested:
    """An open suggestion that the contact is the same person as `other`."""

    suggestion: MergeSuggestion
    other: Contact


async def preview(principal: Principal, contact_id: PydanticObjectId, into_id: PydanticObjectId) -> MergePreview:
    """What merging `contact_id` into `into_id` would store; nothing changes."""
    return await preview_merge(principal.scope, contact_id, into_id, await contact_filter(principal))


async def merge(
    principal: Principal, contact_id: PydanticObjectId, into_id: PydanticObjectId, now: datetime
) -> MergeRecord:
    """Merge one visible contact into another, audit it, and suggest merges the survivor now matches."""
    visible = await contact_filter(principal)
    record = await merge_contacts(principal.scope, contact_id, into_id, visible, actor=principal.actor, now=now)
    await _audit(principal, AuditAction.CONTACTS_MERGED, record, now)
    await suggest_for_new_contacts([record.survivor_id])
    return record


async def unmerge(
    principal: Principal, contact_id: PydanticObjectId, merge_id: PydanticObjectId | None, now: datetime
) -> MergeRecord:
    """Undo a merge involving a visible contact (the one named, or the only one), and audit it."""
    await principal.scope.get(Contact, contact_id, await contact_filter(principal))
    record = await get_merge_to_undo(principal.scope, contact_id, merge_id)
    record = await unmerge_contacts(principal.scope, record, actor=principal.actor, now=now)
    await _audit(principal, AuditAction.CONTACTS_UNMERGED, record, now)
    return record


async def _audit(principal: Principal, action: AuditAction, record: MergeRecord, now: datetime) -> None:
    details = {"merge": str(record.id), "survivor": str(record.survivor_id), "merged": str(record.merged_id)}
    target = f"contact:{record.merged_id}"
    await audit.record(
        action, principal.actor, now, workspace_id=principal.workspace_id, target=target, details=details
    )


async def open_suggestions(principal: Principal, contact_id: PydanticObjectId) -> list[Suggested]:
    """The open suggestions naming this contact, with the other contact of each (only those the principal sees)."""
    pair = {"$or": [{"first_id": contact_id}, {"second_id": contact_id}]}
    found = await principal.scope.find(MergeSuggestion, pair, {"status": SuggestionStatus.OPEN.value}).to_list()
    others = {s.second_id if s.first_id == contact_id else s.first_id: s for s in found}
    visible = await contact_filter(principal)
    contacts = await principal.scope.find(Contact, {"_id": {"$in": sorted(others)}}, visible).to_list()
    return [Suggested(others[c.id], c) for c in contacts if c.id is not None]


async def search_contacts(principal: Principal, text: str, exclude: PydanticObjectId) -> list[Contact]:
    """Contacts the principal may see whose name, email or phone contains `text` (not merged away, not `exclude`)."""
    cleaned = text.strip()[:100]
    if not cleaned:
        return []
    pattern = {"$regex": re.escape(cleaned), "$options": "i"}
    matches = {"$or": [{"name": pattern}, {"email": pattern}, {"phone": pattern}, {"identities.username": pattern}]}
    query = principal.scope.find(
        Contact, matches, {"_id": {"$ne": exclude}, "merged_into": None}, await contact_filter(principal)
    )
    return await query.sort("+name").limit(SEARCH_LIMIT).to_list()


async def merge_history(principal: Principal, contact_id: PydanticObjectId) -> list[MergeRecord]:
    """The merges this contact took part in, newest first."""
    involved = {"$or": [{"survivor_id": contact_id}, {"merged_id": contact_id}]}
    return await principal.scope.find(MergeRecord, involved).sort("-_id").limit(HISTORY_LIMIT).to_list()

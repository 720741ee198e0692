"""Merge suggestions: contacts of one workspace that share a phone number or an email, offered — never merged.

A WhatsApp number that matches another contact's phone is the classic case (a person who wrote on WhatsApp
and also left their number in a form): it is offered to a person for a merge, because a shared family phone
or a recycled number would make a silent merge wrong. Suggestions never cross workspaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import phonenumbers
from beanie import PydanticObjectId
from phonenumbers import NumberParseException, PhoneNumberFormat
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from scrm.inserts import DUPLICATE_KEY
from scrm.models import Contact, MergeSuggestion, SuggestionStatus, across_workspaces
from scrm.models.base import utcnow

WHATSAPP_KEY_PREFIX = "meta:whatsapp:"
"""Identity key of a WhatsApp user: platform `meta`, id space `whatsapp`, the wa_id (the number in digits)."""
Pair = tuple[PydanticObjectId, PydanticObjectId]
_PROJECTION = {"workspace_id": 1, "phone": 1, "email": 1, "identities.key": 1}


def normalise_phone(raw: str | None) -> str | None:
    """The E.164 form of a phone number (`+8613812345678`), or None for anything that is not a valid number.

    A number without `+` or `00` is read as international (a WhatsApp wa_id is the number with its country
    code in digits); a national number without its country code cannot be told apart and gives None.
    """
    text = (raw or "").strip()
    if not text:
        return None
    if text.startswith("00"):
        text = text[2:]
    if not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_spellings(e164: str) -> list[str]:
    """The ways a stored `phone` may spell this number (the index is on the stored text, not the number)."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    spellings = {
        e164,
        e164[1:],
        "00" + e164[1:],
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        national,
        re.sub(r"\D", "", national),
    }
    return sorted(spellings)


def phones_of(contact: Mapping[str, Any]) -> set[str]:
    """Every phone number a contact document is known by: its `phone` and its WhatsApp identities."""
    found = {normalise_phone(contact.get("phone"))}
    for identity in contact.get("identities", []):
        key = str(identity.get("key", ""))
        if key.startswith(WHATSAPP_KEY_PREFIX):
            found.add(normalise_phone(key.removeprefix(WHATSAPP_KEY_PREFIX)))
    return {phone for phone in found if phone is not None}


def email_of(contact: Mapping[str, Any]) -> str | None:
    """A contact document's email, lower-cased for comparing; None when it has none."""
    email = str(contact.get("email") or "").strip().lower()
    return email or None


def reasons_for(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """Why two contact documents are probably one person (`same phone +86...`); empty when they are not."""
    reasons = [f"same phone {phone}" for phone in sorted(phones_of(first) & phones_of(second))]
    email = email_of(first)
    if email is not None and email == email_of(second):
        reasons.append(f"same email {email}")
    return reasons


def _matching(contact: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Filters finding other contacts that share a phone or the email of `contact`."""
    filters: list[dict[str, Any]] = []
    for phone in sorted(phones_of(contact)):
        filters.append({"phone": {"$in": phone_spellings(phone)}})
        filters.append({"identities.key": WHATSAPP_KEY_PREFIX + phone[1:]})
    email = email_of(contact)
    if email is not None:
        filters.append({"email": {"$regex": f"^{re.escape(email)}$", "$options": "i"}})
    return filters


async def suggest_for_new_contacts(
    contact_ids: Iterable[PydanticObjectId], *, created_since: datetime | None = None
) -> int:
    """Suggest merges of these contacts with others of their workspace that share a phone or email.

    Idempotent: a pair already suggested (in either order, open, accepted or dismissed) is left as it is, so a
    dismissed suggestion does not come back. `created_since` skips contacts created before it (to the
    millisecond MongoDB keeps), so a caller can pass every contact of a batch and pay only for new ones.
    Merged contacts are never suggested. Returns how many suggestions were created. Costs two queries and, when
    there is something to suggest, one bulk write.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    query: dict[str, Any] = {"_id": {"$in": ids}, "merged_into": None}
    if created_since is not None:
        query["created_at"] = {"$gte": created_since.replace(microsecond=created_since.microsecond // 1000 * 1000)}
    collection = Contact.get_pymongo_collection()
    with across_workspaces("contacts named by id; each is matched only within its own workspace"):
        news = await collection.find(query, _PROJECTION).to_list()
        wanted = [(c, f) for c in news if (f := _matching(c))]
        if not wanted:
            return 0
        candidates_query = {
            "$or": [{"workspace_id": c["workspace_id"], "merged_into": None, "$or": f} for c, f in wanted]
        }
        candidates = await collection.find(candidates_query, _PROJECTION).to_list()
    return await _store(_pairs([c for c, _ in wanted], candidates), utcnow())


def _pairs(news: Sequence[Mapping[str, Any]], candidates: Sequence[Mapping[str, Any]]) -> dict[Pair, dict[str, Any]]:
    """Each unordered pair (new contact, candidate) of one workspace with a reason, keyed sorted."""
    pairs: dict[Pair, dict[str, Any]] = {}
    for new in news:
        for other in candidates:
            if other["_id"] == new["_id"] or other["workspace_id"] != new["workspace_id"]:
                continue
            reasons = reasons_for(new, other)
            if reasons:
                first, second = sorted((PydanticObjectId(new["_id"]), PydanticObjectId(other["_id"])))
                pairs[(first, second)] = {"workspace_id": new["workspace_id"], "reason": "; ".join(reasons)}
    return pairs


async def _store(pairs: Mapping[Pair, Mapping[str, Any]], now: datetime) -> int:
    """Upsert one suggestion per pair on the unique (workspace, first, second) index; returns how many are new."""
    if not pairs:
        return 0
    upserts = [
        UpdateOne(
            {"workspace_id": about["workspace_id"], "first_id": first, "second_id": second},
            {"$setOnInsert": {"reason": about["reason"], "status": SuggestionStatus.OPEN.value, "created_at": now}},
            upsert=True,
        )
        for (first, second), about in pairs.items()
    ]
    try:
        result = await MergeSuggestion.get_pymongo_collection().bulk_write(upserts, ordered=False)
    except BulkWriteError as exc:  # two workers suggesting the same pair at once: the index keeps one
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise
        return int(exc.details.get("nUpserted", 0))
    return result.upserted_count

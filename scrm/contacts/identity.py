"""Identity resolution: the same platform user is always the same Contact, created on first sight."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from scrm.connectors.items import Sender
from scrm.events import Where
from scrm.inserts import DUPLICATE_KEY
from scrm.models import Consent, Contact, Identity, identity_key

MAX_MERGE_HOPS = 5
PersonKey = tuple[PydanticObjectId, str]
"""(workspace id, identity key): a person as one workspace knows them."""


def person_key(where: Where, sender: Sender) -> PersonKey:
    """The key `resolve_contacts` answers under for this sender."""
    return where.workspace_id, identity_key(where.platform, sender.platform_user_id)


async def resolve_contacts(people: Sequence[tuple[Where, Sender]], now: datetime) -> dict[PersonKey, PydanticObjectId]:
    """The contact of every sender, creating (with the platform's profile) those seen for the first time.

    One bulk of upserts keyed on the unique `identities.key` index: two workers seeing a new person at once
    cannot create two contacts — the loser's upsert hits the unique index and the read after it finds the
    winner's contact. A contact merged into another resolves to the one it was merged into.
    """
    firsts: dict[PersonKey, tuple[Where, Sender]] = {}
    for where, sender in people:
        firsts.setdefault(person_key(where, sender), (where, sender))
    if not firsts:
        return {}
    collection = Contact.get_pymongo_collection()
    upserts = [
        UpdateOne(
            {"workspace_id": key[0], "identities.key": key[1]},
            {"$setOnInsert": _new_contact(where, sender, now), "$max": {"last_seen_at": now}},
            upsert=True,
        )
        for key, (where, sender) in firsts.items()
    ]
    try:
        await collection.bulk_write(upserts, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise
    return await _contact_ids(list(firsts))


async def resolve_contact(where: Where, sender: Sender, now: datetime) -> PydanticObjectId:
    """The contact of one sender (see `resolve_contacts`)."""
    return (await resolve_contacts([(where, sender)], now))[person_key(where, sender)]


async def _contact_ids(keys: list[PersonKey]) -> dict[PersonKey, PydanticObjectId]:
    by_workspace: dict[PydanticObjectId, list[str]] = {}
    for workspace_id, key in keys:
        by_workspace.setdefault(workspace_id, []).append(key)
    query = {"$or": [{"workspace_id": ws, "identities.key": {"$in": ks}} for ws, ks in by_workspace.items()]}
    wanted = set(keys)
    found: dict[PersonKey, PydanticObjectId] = {}
    projection = {"workspace_id": 1, "identities.key": 1, "merged_into": 1}
    async for contact in Contact.get_pymongo_collection().find(query, projection):
        target = await _follow_merges(contact)
        workspace_id = PydanticObjectId(contact["workspace_id"])
        for identity in contact.get("identities", []):
            person = (workspace_id, identity["key"])
            if person in wanted:
                found[person] = target
    return found


def _new_contact(where: Where, sender: Sender, now: datetime) -> dict[str, Any]:
    identity = Identity(
        platform=where.platform,
        external_id=sender.platform_user_id,
        channel_id=where.channel_id,
        username=sender.username,
        display_name=sender.display_name,
        avatar_url=sender.avatar_url,
    )
    contact = Contact(
        workspace_id=where.workspace_id,
        identities=[identity],
        name=sender.display_name or sender.username,
        avatar_url=sender.avatar_url,
        language=sender.language or None,
        consent=Consent(),
        created_at=now,
    )
    document: dict[str, Any] = contact.model_dump(by_alias=True, exclude={"id", "last_seen_at"})
    document["_id"] = ObjectId()
    return document


async def _follow_merges(found: dict[str, Any]) -> PydanticObjectId:
    current = found
    for _ in range(MAX_MERGE_HOPS):
        target = current.get("merged_into")
        if target is None:
            break
        nxt = await Contact.get_pymongo_collection().find_one({"_id": target})
        if nxt is None:
            break
        current = nxt
    return PydanticObjectId(current["_id"])

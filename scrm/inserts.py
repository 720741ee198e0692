"""Insert many documents that each have a unique key, telling which were new and which already existed.

The unique index decides, not a read before the write: `insert_many(ordered=False)` stores every new
document in one round trip, and the duplicate-key errors name the ones that were already there, which are
then read back in one query so the caller can see their state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


@dataclass
class InsertOutcome:
    """Per input position: the stored document, and whether this call created it."""

    stored: list[dict[str, Any]] = field(default_factory=list)
    created: list[bool] = field(default_factory=list)


async def insert_unique(
    collection: AsyncCollection[dict[str, Any]], documents: Sequence[dict[str, Any]], key: Sequence[str]
) -> InsertOutcome:
    """Insert `documents` (each with its `_id` set); duplicates on the unique `key` come back as stored."""
    if not documents:
        return InsertOutcome()
    duplicates = await _insert(collection, documents)
    outcome = InsertOutcome(stored=list(documents), created=[True] * len(documents))
    if not duplicates:
        return outcome
    existing = await _read_existing(collection, [documents[i] for i in duplicates], key)
    for index in duplicates:
        found = existing.get(_key_of(documents[index], key))
        if found is None:  # removed between the insert and the read: treat as new to stay safe
            continue
        outcome.stored[index], outcome.created[index] = found, False
    return outcome


async def _insert(collection: AsyncCollection[dict[str, Any]], documents: Sequence[dict[str, Any]]) -> list[int]:
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if exc.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return [int(e["index"]) for e in errors]
    return []


async def _read_existing(
    collection: AsyncCollection[dict[str, Any]], documents: Sequence[dict[str, Any]], key: Sequence[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    query = {"$or": [{name: document[name] for name in key} for document in documents]}
    return {_key_of(found, key): found async for found in collection.find(query)}


def _key_of(document: dict[str, Any], key: Sequence[str]) -> tuple[Any, ...]:
    return tuple(document.get(name) for name in key)

"""Merge suggestions and merges made straight in MongoDB, for the API's isolation suite."""

from __future__ import annotations

from itertools import count
from typing import Literal

from scrm.contacts.merge import merge_contacts
from scrm.contacts.suggestions import suggest_for_new_contacts
from scrm.models import Contact, MergeSuggestion
from tests.api.world import Side, add_contact

_serial = count(1)


async def _two_contacts(side: Side, reach: Literal["agent", "outside"]) -> tuple[Contact, Contact]:
    """Two contacts talking on the agent's channel (or on the other one) with the same phone number."""
    channel = side.agent_channel if reach == "agent" else side.other_channel
    assert channel is not None
    n = next(_serial)
    first = await add_contact(side, f"Twin {n}a", channel)
    second = await add_contact(side, f"Twin {n}b", channel)
    await side.scope.find(Contact, {"_id": {"$in": [first, second]}}).update({"$set": {"phone": f"+86138{n:08d}"}})
    return await side.scope.get(Contact, first), await side.scope.get(Contact, second)


async def seed_merge_suggestion(side: Side, reach: Literal["agent", "outside"]) -> str:
    """An open suggestion to merge two contacts of the agent's channel, or of the other one; returns its id."""
    first, second = await _two_contacts(side, reach)
    assert first.id is not None and second.id is not None
    await suggest_for_new_contacts([second.id])
    suggestion = await side.scope.find_one(MergeSuggestion, {"first_id": first.id, "second_id": second.id})
    assert suggestion is not None
    return str(suggestion.id)


async def seed_merge(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A merge of two contacts of the agent's channel, or of the other one; returns the merge record's id."""
    first, second = await _two_contacts(side, reach)
    assert first.id is not None and second.id is not None
    done = await merge_contacts(side.scope, second.id, first.id, {}, actor="test", now=side.workspace.created_at)
    return str(done.id)

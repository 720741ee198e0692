"""Merge and unmerge: everything moves to the survivor in one transaction, and unmerge puts both back exactly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from scrm.connectors.items import InboundMessage, Sender
from scrm.contacts import merge as merging
from scrm.contacts.identity import resolve_contact
from scrm.contacts.merge import MergeRefused, merge_contacts, preview_merge, unmerge_contacts
from scrm.contacts.suggestions import suggest_for_new_contacts
from scrm.db import Database
from scrm.events import MessageReceived, Where
from scrm.ingest import record
from scrm.models import (
    ConsentStatus,
    Contact,
    Conversation,
    Follow,
    FollowKind,
    MergeRecord,
    MergeSuggestion,
    Message,
    SuggestionStatus,
    WorkspaceScope,
)
from tests.contacts.people import Place, add_history, add_person, denied, make_place

WA_ID = "whatsapp:8613812345678"
COLLECTIONS = ("contacts", "conversations", "messages", "outbound_messages", "posts", "comments", "follows")


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every document a merge may touch, collection by collection, in id order."""
    database = Contact.get_pymongo_collection().database
    return {name: await database[name].find({}).sort("_id", 1).to_list() for name in COLLECTIONS}


async def two_people(now: datetime) -> tuple[Place, Contact, Contact]:
    """Li Wei on Telegram (the survivor) and the same person on WhatsApp, each with a history."""
    place = await make_place("alpha", now)
    survivor = await add_person(
        place, place.telegram, "501", now, name="Li Wei", phone="+86 138 1234 5678", language="zh",
        tags=["vip"], attributes={"tier": "gold", "city": "Shanghai"}, last_seen_at=now - timedelta(days=2),
    )  # fmt: skip
    merged = await add_person(
        place, place.meta, WA_ID, now, email="li@example.com", language="en", timezone="Asia/Shanghai",
        tags=["lead", "vip"], attributes={"tier": "silver", "source": "ad"}, consent=denied(now),
        last_seen_at=now - timedelta(days=1),
    )  # fmt: skip
    await add_history(place, survivor, place.telegram, now)
    await add_history(place, merged, place.meta, now)
    return place, survivor, merged


async def test_the_preview_shows_the_merged_profile_and_what_would_move(database: Database, now: datetime) -> None:
    place, survivor, merged = await two_people(now)
    assert survivor.id is not None and merged.id is not None
    before = await snapshot()

    preview = await preview_merge(place.scope, merged.id, survivor.id, {})

    result = preview.result
    assert result.id == survivor.id
    assert [i.key for i in result.identities] == ["telegram:501", f"meta:{WA_ID}"]
    assert (result.name, result.phone, result.email) == ("Li Wei", "+86 138 1234 5678", "li@example.com")
    assert (result.language, result.timezone) == ("zh", "Asia/Shanghai")
    assert result.tags == ["vip", "lead"]
    assert result.attributes == {"tier": "gold", "city": "Shanghai", "source": "ad"}
    assert result.consent.status is ConsentStatus.DENIED
    assert result.last_seen_at == now - timedelta(days=1)
    assert preview.moves == {
        "conversations": 1, "messages": 1, "outbound_messages": 1, "comments": 1, "posts": 1, "follows": 1,
    }  # fmt: skip
    assert await snapshot() == before


async def test_merge_moves_everything_and_new_messages_of_the_merged_identity_reach_the_survivor(
    database: Database, now: datetime
) -> None:
    place, survivor, merged = await two_people(now)
    assert survivor.id is not None and merged.id is not None

    done = await merge_contacts(place.scope, merged.id, survivor.id, {}, actor="user:1", now=now)

    after = await snapshot()
    for name in COLLECTIONS[1:]:
        field = "author_contact_id" if name == "posts" else "contact_id"
        assert {row[field] for row in after[name]} == {survivor.id}, name
        assert len(done.moved[name]) == 1
    gone = await place.scope.get(Contact, merged.id)
    assert gone.merged_into == survivor.id and gone.identities == []
    kept = await place.scope.get(Contact, survivor.id)
    assert f"meta:{WA_ID}" in [i.key for i in kept.identities]
    assert kept.email == "li@example.com" and kept.consent.status is ConsentStatus.DENIED
    assert await place.scope.count(MergeRecord) == 1

    assert place.meta.id is not None
    where = Where(place.workspace_id, place.meta.id, "meta")
    assert await resolve_contact(where, Sender(WA_ID), now) == survivor.id
    event = await record(InboundMessage("meta", "wamid.2", WA_ID, Sender(WA_ID), now, text="Me again"), where, now)
    assert isinstance(event, MessageReceived) and event.contact_id == survivor.id
    assert await Contact.count() == 2


async def test_unmerge_restores_both_contacts_and_everything_that_moved(database: Database, now: datetime) -> None:
    place, survivor, merged = await two_people(now)
    assert survivor.id is not None and merged.id is not None
    before = await snapshot()

    done = await merge_contacts(place.scope, merged.id, survivor.id, {}, actor="user:1", now=now)
    undone = await unmerge_contacts(place.scope, done, actor="user:2", now=now)

    assert await snapshot() == before
    assert undone.id is not None
    stored = await place.scope.get(MergeRecord, undone.id)
    assert (stored.undone_at, stored.undone_by) == (now, "user:2")


async def test_unmerge_gives_back_new_messages_in_returned_threads_and_keeps_other_new_items(
    database: Database, now: datetime
) -> None:
    place, survivor, merged = await two_people(now)
    assert survivor.id is not None and merged.id is not None and place.meta.id is not None
    done = await merge_contacts(place.scope, merged.id, survivor.id, {}, actor="user:1", now=now)
    where = Where(place.workspace_id, place.meta.id, "meta")
    await record(InboundMessage("meta", "wamid.2", WA_ID, Sender(WA_ID), now, text="Me again"), where, now)
    late = Follow(
        workspace_id=place.workspace_id, channel_id=place.meta.id, contact_id=survivor.id, platform="meta",
        external_id="f-late", kind=FollowKind.FOLLOW, at=now,
    )  # fmt: skip
    await place.scope.insert(late)
    edited = await place.scope.get(Contact, survivor.id)
    edited.name, edited.tags = "Wei Li", [*edited.tags, "returning"]
    await place.scope.replace(edited)

    await unmerge_contacts(place.scope, done, actor="user:2", now=now)

    thread = await place.scope.find_one(Conversation, {"external_id": WA_ID})
    assert thread is not None and thread.contact_id == merged.id
    assert {m.contact_id for m in await place.scope.find(Message, {"conversation_id": thread.id}).to_list()} == {
        merged.id
    }
    assert late.id is not None and (await place.scope.get(Follow, late.id)).contact_id == survivor.id
    kept = await place.scope.get(Contact, survivor.id)
    assert kept.name == "Wei Li" and kept.tags == ["vip", "returning"]
    assert kept.email is None and [i.key for i in kept.identities] == ["telegram:501"]
    assert await resolve_contact(where, Sender(WA_ID), now) == merged.id


async def test_a_crash_inside_the_merge_leaves_both_contacts_intact(
    database: Database, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    place, survivor, merged = await two_people(now)
    assert survivor.id is not None and merged.id is not None
    before = await snapshot()

    async def crash(*_: Any) -> None:
        raise RuntimeError("the process died half-way")

    monkeypatch.setattr(merging, "_write_record", crash)
    with pytest.raises(RuntimeError, match="half-way"):
        await merge_contacts(place.scope, merged.id, survivor.id, {}, actor="user:1", now=now)

    assert await snapshot() == before
    assert await MergeRecord.count() == 0


async def test_merges_that_cannot_be_done_are_refused(database: Database, now: datetime) -> None:
    place, survivor, merged = await two_people(now)
    third = await add_person(place, place.telegram, "503", now)
    assert survivor.id is not None and merged.id is not None and third.id is not None

    with pytest.raises(MergeRefused, match="itself"):
        await merge_contacts(place.scope, merged.id, merged.id, {}, actor="user:1", now=now)
    first = await merge_contacts(place.scope, merged.id, survivor.id, {}, actor="user:1", now=now)
    with pytest.raises(MergeRefused, match="already merged"):
        await merge_contacts(place.scope, merged.id, third.id, {}, actor="user:1", now=now)
    second = await merge_contacts(place.scope, survivor.id, third.id, {}, actor="user:1", now=now)
    with pytest.raises(MergeRefused, match="undo that first"):
        await unmerge_contacts(place.scope, first, actor="user:1", now=now)
    await unmerge_contacts(place.scope, second, actor="user:1", now=now)
    await unmerge_contacts(place.scope, first, actor="user:1", now=now)
    with pytest.raises(MergeRefused, match="already undone"):
        await unmerge_contacts(place.scope, first, actor="user:1", now=now)


async def test_another_workspace_cannot_merge_or_see_the_contacts(database: Database, now: datetime) -> None:
    _, survivor, merged = await two_people(now)
    other = await make_place("bravo", now)
    assert survivor.id is not None and merged.id is not None
    outsider = WorkspaceScope(other.workspace_id)

    with pytest.raises(LookupError):
        await preview_merge(outsider, merged.id, survivor.id, {})
    with pytest.raises(LookupError):
        await merge_contacts(outsider, merged.id, survivor.id, {}, actor="user:1", now=now)
    assert await MergeRecord.count() == 0


async def test_merge_accepts_the_pair_and_unmerge_reopens_what_the_merge_set_aside(
    database: Database, now: datetime
) -> None:
    place, survivor, merged = await two_people(now)
    third = await add_person(place, place.telegram, "503", now, phone="+8613812345678")
    assert survivor.id is not None and merged.id is not None and third.id is not None
    await suggest_for_new_contacts([survivor.id, merged.id, third.id])
    by_pair = {(s.first_id, s.second_id): s.id for s in await MergeSuggestion.find_all().to_list()}
    assert set(by_pair) == {(survivor.id, merged.id), (survivor.id, third.id), (merged.id, third.id)}

    done = await merge_contacts(place.scope, merged.id, survivor.id, {}, actor="user:1", now=now)

    assert done.suggestion_id == by_pair[(survivor.id, merged.id)]
    assert await statuses() == {
        (survivor.id, merged.id): SuggestionStatus.ACCEPTED,
        (survivor.id, third.id): SuggestionStatus.OPEN,
        (merged.id, third.id): SuggestionStatus.DISMISSED,
    }
    await unmerge_contacts(place.scope, done, actor="user:2", now=now)
    assert await statuses() == {
        (survivor.id, merged.id): SuggestionStatus.DISMISSED,
        (survivor.id, third.id): SuggestionStatus.OPEN,
        (merged.id, third.id): SuggestionStatus.OPEN,
    }


async def statuses() -> dict[tuple[Any, Any], SuggestionStatus]:
    """The status of every suggestion, by pair."""
    return {(s.first_id, s.second_id): s.status for s in await MergeSuggestion.find_all().to_list()}

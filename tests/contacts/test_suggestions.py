"""Suggestions: contacts sharing a phone number or an email are offered for a merge — once, and never merged."""

from __future__ import annotations

from datetime import datetime, timedelta

from scrm.contacts.suggestions import normalise_phone, suggest_for_new_contacts
from scrm.db import Database
from scrm.models import Contact, MergeSuggestion, SuggestionStatus
from tests.contacts.people import add_person, make_place

WA_ID = "whatsapp:8613812345678"


async def test_a_whatsapp_number_matching_a_phone_is_suggested_not_merged(database: Database, now: datetime) -> None:
    place = await make_place("alpha", now)
    known = await add_person(place, place.telegram, "501", now, name="Li Wei", phone="+86 138 1234 5678")
    new = await add_person(place, place.meta, WA_ID, now)
    assert known.id is not None and new.id is not None

    assert await suggest_for_new_contacts([new.id]) == 1

    suggestion = await MergeSuggestion.find_one()
    assert suggestion is not None
    assert (suggestion.first_id, suggestion.second_id) == (known.id, new.id)
    assert suggestion.reason == "same phone +8613812345678"
    assert suggestion.status is SuggestionStatus.OPEN
    assert suggestion.workspace_id == place.workspace_id
    assert await Contact.find({"merged_into": {"$ne": None}}).count() == 0


async def test_the_same_email_in_another_case_is_suggested(database: Database, now: datetime) -> None:
    place = await make_place("alpha", now)
    known = await add_person(place, place.telegram, "501", now, email="Nora@Example.com")
    new = await add_person(place, place.telegram, "502", now, email="nora@example.COM")
    assert new.id is not None

    assert await suggest_for_new_contacts([new.id]) == 1

    suggestion = await MergeSuggestion.find_one()
    assert suggestion is not None and suggestion.first_id == known.id
    assert suggestion.reason == "same email nora@example.com"


async def test_phone_and_email_together_give_one_suggestion_with_both_reasons(
    database: Database, now: datetime
) -> None:
    place = await make_place("alpha", now)
    await add_person(place, place.telegram, "501", now, email="li@example.com", phone="008613812345678")
    new = await add_person(place, place.meta, WA_ID, now, email="li@example.com")
    assert new.id is not None

    assert await suggest_for_new_contacts([new.id]) == 1

    suggestion = await MergeSuggestion.find_one()
    assert suggestion is not None
    assert suggestion.reason == "same phone +8613812345678; same email li@example.com"


async def test_no_suggestion_across_workspaces(database: Database, now: datetime) -> None:
    alpha, bravo = await make_place("alpha", now), await make_place("bravo", now)
    await add_person(bravo, bravo.telegram, "501", now, phone="+8613812345678", email="li@example.com")
    new = await add_person(alpha, alpha.meta, WA_ID, now, email="li@example.com")
    assert new.id is not None

    assert await suggest_for_new_contacts([new.id]) == 0
    assert await MergeSuggestion.count() == 0


async def test_no_suggestion_for_different_numbers_or_emails(database: Database, now: datetime) -> None:
    place = await make_place("alpha", now)
    await add_person(place, place.telegram, "501", now, phone="+8613812345679", email="li@example.com")
    new = await add_person(place, place.meta, WA_ID, now, email="li.wei@example.com")
    assert new.id is not None

    assert await suggest_for_new_contacts([new.id]) == 0
    assert await MergeSuggestion.count() == 0


async def test_a_pair_is_suggested_once_from_either_side_and_a_dismissal_stays(
    database: Database, now: datetime
) -> None:
    place = await make_place("alpha", now)
    known = await add_person(place, place.telegram, "501", now, phone="+8613812345678")
    new = await add_person(place, place.meta, WA_ID, now)
    assert known.id is not None and new.id is not None

    assert await suggest_for_new_contacts([new.id]) == 1
    await MergeSuggestion.find_all().update({"$set": {"status": SuggestionStatus.DISMISSED.value}})
    assert await suggest_for_new_contacts([new.id]) == 0
    assert await suggest_for_new_contacts([known.id, new.id]) == 0

    suggestions = await MergeSuggestion.find_all().to_list()
    assert [s.status for s in suggestions] == [SuggestionStatus.DISMISSED]


async def test_contacts_created_before_the_batch_are_skipped(database: Database, now: datetime) -> None:
    place = await make_place("alpha", now)
    await add_person(place, place.telegram, "501", now - timedelta(days=1), phone="+8613812345678")
    old = await add_person(place, place.meta, WA_ID, now - timedelta(hours=1))
    assert old.id is not None

    assert await suggest_for_new_contacts([old.id], created_since=now) == 0
    assert await suggest_for_new_contacts([old.id], created_since=now - timedelta(hours=1)) == 1


async def test_merged_contacts_are_never_suggested(database: Database, now: datetime) -> None:
    place = await make_place("alpha", now)
    survivor = await add_person(place, place.telegram, "500", now)
    gone = await add_person(place, place.telegram, "501", now, phone="+8613812345678", merged_into=survivor.id)
    new = await add_person(place, place.meta, WA_ID, now)
    assert gone.id is not None and new.id is not None

    assert await suggest_for_new_contacts([new.id, gone.id]) == 0


def test_phone_numbers_are_compared_in_e164() -> None:
    assert normalise_phone("+86 138-1234-5678") == "+8613812345678"
    assert normalise_phone("008613812345678") == "+8613812345678"
    assert normalise_phone("8613812345678") == "+8613812345678"
    assert normalise_phone("12345") is None
    assert normalise_phone("") is None

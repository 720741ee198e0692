"""Correcting a message's sentiment and intent from the inbox thread, as the API does."""

from __future__ import annotations

import re
from typing import get_args

import httpx

from scrm.api import corrections, messages
from scrm.models import Contact, Message, TagCorrection
from scrm.nlp import tags
from scrm.web import i18n
from scrm.web.inbox import filters
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in


async def _message(inbox: Inbox, text: str) -> Message:
    found = await inbox.scope.find_one(Message, {"text": text})
    assert found is not None and found.id is not None
    return found


def _selected(page: httpx.Response, message_id: str, name: str) -> str:
    """The option selected in the correction form of one message."""
    form = page.text[page.text.index(f'data-tag-fix="{message_id}"') :]
    start = form.index(f'name="{name}"')
    select = form[start : form.index("</select>", start)]
    found = re.search(r'<option value="([a-z_]+)" selected>', select)
    assert found, f"nothing selected for {name}"
    return found.group(1)


async def test_an_agent_corrects_a_message_from_the_thread(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    url = f"/inbox/{inbox.cid('Mia')}"
    page = await web.get(url, headers=HTML)
    late = await _message(inbox, "My order is late!")
    assert (_selected(page, str(late.id), "sentiment"), _selected(page, str(late.id), "intent")) == (
        "negative",
        "complaint",
    )

    form = {"csrf_token": csrf_of(page), "filters": "status=all", "sentiment": "neutral", "intent": "complaint"}
    response = await web.post(f"{url}/messages/{late.id}/tags", data=form, headers=HTML)
    assert response.status_code == 303 and response.headers["location"] == f"{url}?status=all"

    corrections = await inbox.scope.find(TagCorrection, {}).to_list()
    assert [(c.task, c.predicted, c.label) for c in corrections] == [("sentiment", "negative", "neutral")]
    assert corrections[0].corrected_by and corrections[0].text == "My order is late!"
    stored = await _message(inbox, "My order is late!")
    assert stored.tags is not None and stored.tags["sentiment"] == "neutral" and stored.tags["intent"] == "complaint"
    assert stored.tags["corrected"] == {"sentiment": "negative"}
    contact = await inbox.scope.get(Contact, stored.contact_id)
    assert contact.sentiment is not None and contact.sentiment > 0  # one neutral and one positive message left

    after = await web.get(url, headers=HTML)
    assert 'data-corrected="sentiment"' in after.text
    assert "Sentiment: the model said Negative" in after.text
    assert _selected(after, str(late.id), "sentiment") == "neutral"
    fragment = await web.get(f"{url}/thread", headers={**HTML, "hx-request": "true"})
    assert f'data-tag-fix="{late.id}"' in fragment.text and csrf_of(page) in fragment.text


async def test_a_correction_to_the_same_labels_records_nothing(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    url = f"/inbox/{inbox.cid('Mia')}"
    token = csrf_of(await web.get(url, headers=HTML))
    late = await _message(inbox, "My order is late!")
    form = {"csrf_token": token, "sentiment": "negative", "intent": "complaint"}
    response = await web.post(f"{url}/messages/{late.id}/tags", data=form, headers=HTML)
    assert response.status_code == 303
    assert await inbox.scope.count(TagCorrection) == 0
    stored = await _message(inbox, "My order is late!")
    assert stored.tags is not None and "corrected" not in stored.tags


async def test_corrections_outside_reach_or_with_bad_labels_are_refused(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    mia = f"/inbox/{inbox.cid('Mia')}"
    token = csrf_of(await web.get(mia, headers=HTML))
    coffee = await _message(inbox, "咖啡洒了")
    late = await _message(inbox, "My order is late!")
    fields = {"csrf_token": token, "sentiment": "neutral"}
    other_channel = await web.post(f"/inbox/{inbox.cid('Li')}/messages/{coffee.id}/tags", data=fields, headers=HTML)
    assert other_channel.status_code == 404
    wrong_thread = await web.post(f"{mia}/messages/{coffee.id}/tags", data=fields, headers=HTML)
    assert wrong_thread.status_code == 404
    bogus_id = await web.post(f"{mia}/messages/not-an-id/tags", data=fields, headers=HTML)
    assert bogus_id.status_code == 404
    furious = await web.post(f"{mia}/messages/{late.id}/tags", data={**fields, "sentiment": "furious"}, headers=HTML)
    assert furious.status_code == 400 and "Unknown sentiment" in furious.text
    forged = await web.post(f"{mia}/messages/{late.id}/tags", data={**fields, "csrf_token": "x"}, headers=HTML)
    assert forged.status_code == 403
    assert await inbox.scope.count(TagCorrection) == 0


async def test_a_viewer_sees_the_tags_but_no_correction_form(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "viewer")
    url = f"/inbox/{inbox.cid('Mia')}"
    page = await web.get(url, headers=HTML)
    assert 'data-sentiment="negative"' in page.text and "data-tag-fix" not in page.text
    late = await _message(inbox, "My order is late!")
    refused = await web.post(
        f"{url}/messages/{late.id}/tags", data={"csrf_token": csrf_of(page), "sentiment": "neutral"}, headers=HTML
    )
    assert refused.status_code == 403
    assert await inbox.scope.count(TagCorrection) == 0


async def test_the_correction_form_speaks_chinese(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    web.cookies.set(i18n.COOKIE, "zh-CN")
    page = await web.get(f"/inbox/{inbox.cid('Li')}", headers=HTML)
    assert "更正标签" in page.text and "保存更正" in page.text and "下一次训练也会从中学习" in page.text


def test_the_inbox_and_the_api_offer_the_taggers_labels() -> None:
    assert filters.SENTIMENTS == tags.SENTIMENTS and filters.INTENTS == tags.INTENTS
    assert get_args(corrections.Sentiment) == tags.SENTIMENTS and get_args(corrections.Intent) == tags.INTENTS
    assert get_args(messages.Sentiment) == tags.SENTIMENTS and get_args(messages.Intent) == tags.INTENTS


async def test_only_what_the_person_changed_is_a_correction(web: httpx.AsyncClient, inbox: Inbox) -> None:
    """A form drawn before someone else's correction does not undo it: its other select was left as shown."""
    await signed_in(web, "agent")
    url = f"/inbox/{inbox.cid('Mia')}"
    stale = await web.get(url, headers=HTML)  # shows negative / complaint
    late = await _message(inbox, "My order is late!")
    token = csrf_of(stale)
    meanwhile = {"csrf_token": token, "sentiment": "neutral", "intent": "complaint"}
    assert (await web.post(f"{url}/messages/{late.id}/tags", data=meanwhile, headers=HTML)).status_code == 303

    form = {
        "csrf_token": token,
        "shown_sentiment": _selected(stale, str(late.id), "sentiment"),
        "shown_intent": _selected(stale, str(late.id), "intent"),
        "sentiment": "negative",  # untouched in the stale form
        "intent": "support_request",  # the change this person made
    }
    assert (await web.post(f"{url}/messages/{late.id}/tags", data=form, headers=HTML)).status_code == 303
    stored = await _message(inbox, "My order is late!")
    assert stored.tags is not None
    assert (stored.tags["sentiment"], stored.tags["intent"]) == ("neutral", "support_request")
    assert stored.tags["corrected"] == {"sentiment": "negative", "intent": "complaint"}

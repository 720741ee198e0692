"""The collision indicator: who else has a conversation open, typing or viewing, through the API and the web inbox."""

from __future__ import annotations

from typing import Any

import httpx

from scrm.inbox.presence import PRESENCE_TTL, TYPING_FOR
from scrm.models import ConversationPresence
from tests.auth.conftest import MovableClock
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in


def url(inbox: Inbox, name: str) -> str:
    """The presence resource of the conversation with the contact `name`."""
    return f"/api/v1/conversations/{inbox.cid(name)}/presence"


async def others(web: httpx.AsyncClient, inbox: Inbox, who: str, name: str = "Mia") -> list[dict[str, Any]]:
    """Who `who` sees in the conversation, as the API lists them."""
    response = await web.get(url(inbox, name), headers=inbox.bearer(who))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_others_see_who_is_viewing_but_never_themselves(web: httpx.AsyncClient, inbox: Inbox) -> None:
    put = await web.put(url(inbox, "Mia"), json={"state": "viewing"}, headers=inbox.bearer("agent"))
    assert put.status_code == 200 and put.json()["items"] == [] and put.json()["ttl_seconds"] == 15
    await web.put(url(inbox, "Mia"), json={}, headers=inbox.bearer("admin"))

    seen_by_admin = await others(web, inbox, "admin")
    assert [(p["display_name"], p["state"]) for p in seen_by_admin] == [("agent token", "viewing")]
    assert [p["display_name"] for p in await others(web, inbox, "agent")] == ["admin token"]
    assert await others(web, inbox, "admin", "Sam") == []  # presence is per conversation
    await web.put(url(inbox, "Mia"), json={}, headers=inbox.bearer("agent"))  # a poll renews, never duplicates
    assert await inbox.scope.count(ConversationPresence, {"conversation_id": inbox.oid("Mia")}) == 2


async def test_typing_shows_until_the_keystrokes_stop(
    web: httpx.AsyncClient, inbox: Inbox, clock: MovableClock
) -> None:
    await web.put(url(inbox, "Mia"), json={"state": "typing"}, headers=inbox.bearer("agent"))
    assert [p["state"] for p in await others(web, inbox, "admin")] == ["typing"]

    clock.advance(seconds=2)
    await web.put(url(inbox, "Mia"), json={"state": "viewing"}, headers=inbox.bearer("agent"))  # the poll
    assert [p["state"] for p in await others(web, inbox, "admin")] == ["typing"]  # a poll keeps the typing

    clock.advance(seconds=TYPING_FOR.total_seconds())
    assert [p["state"] for p in await others(web, inbox, "admin")] == ["viewing"]


async def test_presence_expires_without_a_poll_and_leaving_removes_it(
    web: httpx.AsyncClient, inbox: Inbox, clock: MovableClock
) -> None:
    await web.put(url(inbox, "Mia"), json={}, headers=inbox.bearer("agent"))
    clock.advance(seconds=PRESENCE_TTL.total_seconds() - 1)
    assert len(await others(web, inbox, "admin")) == 1
    clock.advance(seconds=2)
    assert await others(web, inbox, "admin") == []

    await web.put(url(inbox, "Mia"), json={}, headers=inbox.bearer("agent"))  # back again
    assert len(await others(web, inbox, "admin")) == 1
    left = await web.delete(url(inbox, "Mia"), headers=inbox.bearer("agent"))
    assert left.status_code == 204
    assert await others(web, inbox, "admin") == []


async def test_an_agent_out_of_reach_gets_404_and_a_viewer_only_reads(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await web.put(url(inbox, "Mia"), json={}, headers=inbox.bearer("agent"))
    outside = inbox.bearer("other_agent")  # the WeChat agent; Mia writes on Telegram
    assert (await web.get(url(inbox, "Mia"), headers=outside)).status_code == 404
    assert (await web.put(url(inbox, "Mia"), json={}, headers=outside)).status_code == 404
    assert (await web.delete(url(inbox, "Mia"), headers=outside)).status_code == 404
    assert (await web.get(url(inbox, "Li"), headers=outside)).status_code == 200
    assert (await web.put(url(inbox, "Mia"), json={}, headers=inbox.bearer("viewer"))).status_code == 403
    bad = await web.put(url(inbox, "Mia"), json={"state": "dancing"}, headers=inbox.bearer("agent"))
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert await inbox.scope.count(ConversationPresence) == 1


async def test_the_web_inbox_shows_and_records_presence(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await web.put(url(inbox, "Mia"), json={"state": "typing"}, headers=inbox.bearer("agent"))
    await signed_in(web, "admin")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers=HTML)
    assert 'data-present="agent token" data-state="typing"' in page.text and "agent token is typing" in page.text
    assert [p["display_name"] for p in await others(web, inbox, "agent")] == ["Admin"]  # opening it records me

    poll = await web.get(f"/inbox/{inbox.cid('Mia')}/presence", headers={**HTML, "hx-request": "true"})
    assert poll.status_code == 200 and "<html" not in poll.text and 'data-present="agent token"' in poll.text
    assert 'data-present="Admin"' not in poll.text

    signal = f"/inbox/{inbox.cid('Mia')}/presence"
    typing = await web.post(signal, data={"csrf_token": csrf_of(page), "state": "typing"}, headers=HTML)
    assert typing.status_code == 200 and 'data-present="agent token"' in typing.text
    assert [p["state"] for p in await others(web, inbox, "agent")] == ["typing"]
    forged = await web.post(signal, data={"csrf_token": "guess", "state": "left"}, headers=HTML)
    assert forged.status_code == 403 and len(await others(web, inbox, "agent")) == 1
    await web.post(signal, data={"csrf_token": csrf_of(page), "state": "left"}, headers=HTML)
    assert await others(web, inbox, "agent") == []

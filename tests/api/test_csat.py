"""`/api/v1/csat` and `/api/v1/conversations/{id}/csat`: settings, surveys sent or skipped, and the report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from scrm.connectors.items import InboundMessage, Sender
from scrm.events import Where
from scrm.models import Conversation, OutboundMessage
from scrm.models.csat import DEFAULT_QUESTION_EN, DEFAULT_QUESTION_ZH
from scrm.pipeline import process
from tests.inbox.conftest import Inbox, clock, inbox, web

__all__ = ["clock", "inbox", "web"]  # the inbox world and its app, as fixtures

SETTINGS = "/api/v1/csat/settings"
REPORT = "/api/v1/csat"
ON = {"enabled": True, "question_en": "Rate us 1-5, please!", "question_zh": "请为我们打分（1-5）！"}


async def turn_on(web: httpx.AsyncClient, inbox: Inbox) -> None:
    """The admin turns surveys on with their own questions."""
    response = await web.put(SETTINGS, json=ON, headers=inbox.bearer("admin"))
    assert response.status_code == 200, response.text


async def resolve(web: httpx.AsyncClient, inbox: Inbox, name: str, who: str = "admin") -> None:
    """Resolve the conversation with `name` through the API."""
    response = await web.patch(
        f"/api/v1/conversations/{inbox.cid(name)}", json={"status": "resolved"}, headers=inbox.bearer(who)
    )
    assert response.status_code == 200, response.text


async def surveys(web: httpx.AsyncClient, inbox: Inbox, name: str, who: str = "admin") -> list[dict[str, Any]]:
    """The surveys of the conversation with `name`, as the API lists them."""
    response = await web.get(f"/api/v1/conversations/{inbox.cid(name)}/csat", headers=inbox.bearer(who))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def answer(inbox: Inbox, name: str, text: str, at: datetime) -> None:
    """The contact `name` writes `text` on their channel, carried through the pipeline."""
    conversation = inbox.conversations[name]
    assert conversation.id is not None
    item = InboundMessage(
        platform=conversation.platform,
        external_id=f"{name}-answer-{text}",
        conversation_id=conversation.external_id,
        sender=Sender(conversation.external_id),
        at=at,
        text=text,
    )
    await process(item, Where(inbox.scope.workspace_id, conversation.channel_id, conversation.platform), at)


async def test_settings_default_to_off_with_a_bilingual_question_and_only_admins_change_them(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    shown = await web.get(SETTINGS, headers=inbox.bearer("viewer"))
    assert shown.json() == {"enabled": False, "question_en": DEFAULT_QUESTION_EN, "question_zh": DEFAULT_QUESTION_ZH}
    assert (await web.put(SETTINGS, json=ON, headers=inbox.bearer("agent"))).status_code == 403
    blank = await web.put(SETTINGS, json={**ON, "question_zh": "   "}, headers=inbox.bearer("admin"))
    assert blank.status_code == 400 and "1 to 500 characters" in blank.json()["detail"]
    missing = await web.put(SETTINGS, json={"enabled": True}, headers=inbox.bearer("admin"))
    assert missing.status_code == 400 and missing.headers["content-type"].startswith("application/problem+json")
    await turn_on(web, inbox)
    assert (await web.get(SETTINGS, headers=inbox.bearer("agent"))).json() == ON


async def test_resolving_through_the_api_sends_the_survey_once(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await turn_on(web, inbox)
    await resolve(web, inbox, "Mia", who="agent")
    await resolve(web, inbox, "Mia", who="agent")
    [survey] = await surveys(web, inbox, "Mia", who="agent")
    assert survey["status"] == "sent" and survey["skipped_reason"] == "" and survey["rating"] is None
    rows = await inbox.scope.find(OutboundMessage, {"conversation_id": inbox.oid("Mia")}).to_list()
    assert [row.payload["text"] for row in rows] == [ON["question_en"]]
    assert (
        await web.get(f"/api/v1/conversations/{inbox.cid('Mia')}/csat", headers=inbox.bearer("other_agent"))
    ).status_code == 404


async def test_a_closed_window_skips_the_survey_with_the_reason(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await turn_on(web, inbox)
    await inbox.scope.find(Conversation, {"_id": inbox.oid("Li")}).update(
        {"$set": {"last_inbound_at": now - timedelta(hours=50)}}
    )
    bulk = await web.post(
        "/api/v1/conversations/bulk",
        json={"ids": [inbox.cid("Li")], "status": "resolved"},
        headers=inbox.bearer("admin"),
    )
    assert bulk.status_code == 200 and bulk.json() == {"matched": 1}
    [survey] = await surveys(web, inbox, "Li", who="other_agent")
    assert survey["status"] == "skipped" and "WeChat's 48-hour customer-service window" in survey["skipped_reason"]
    assert await inbox.scope.count(OutboundMessage) == 0


async def test_the_report_gives_the_average_the_count_per_rating_and_the_response_rate(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await turn_on(web, inbox)
    for name in ("Mia", "Li"):
        await resolve(web, inbox, name)
    await answer(inbox, "Mia", "5", now + timedelta(minutes=1))
    await answer(inbox, "Li", "四分", now + timedelta(minutes=2))
    reopened = await inbox.scope.get(Conversation, inbox.oid("Li"))
    assert reopened.status.value == "resolved"

    body = (await web.get(REPORT, headers=inbox.bearer("admin"))).json()
    assert (body["sent"], body["answered"], body["skipped"]) == (2, 2, 0)
    assert body["average"] == 4.5 and body["response_rate"] == 1.0
    assert body["per_rating"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert [(i["conversation_id"], i["rating"]) for i in body["items"]] == [(inbox.cid("Li"), 4), (inbox.cid("Mia"), 5)]

    first = (await web.get(REPORT, params={"limit": 1}, headers=inbox.bearer("viewer"))).json()
    assert [i["rating"] for i in first["items"]] == [4] and first["next_cursor"]
    rest = await web.get(REPORT, params={"limit": 1, "cursor": first["next_cursor"]}, headers=inbox.bearer("viewer"))
    assert [i["rating"] for i in rest.json()["items"]] == [5] and rest.json()["next_cursor"] is None

    wechat = (await web.get(REPORT, params={"channel_id": str(inbox.wechat.id)}, headers=inbox.bearer("admin"))).json()
    assert wechat["sent"] == 1 and wechat["average"] == 4.0
    later = {"since": (now + timedelta(hours=1)).isoformat()}
    empty = (await web.get(REPORT, params=later, headers=inbox.bearer("admin"))).json()
    assert empty["sent"] == 0 and empty["average"] is None and empty["response_rate"] is None and empty["items"] == []
    inside = {"since": now.isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    assert (await web.get(REPORT, params=inside, headers=inbox.bearer("admin"))).json()["sent"] == 2


async def test_the_report_refuses_a_backwards_range_and_agents(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    backwards = {"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    response = await web.get(REPORT, params=backwards, headers=inbox.bearer("admin"))
    assert response.status_code == 400 and "`since` must be earlier than `until`" in response.json()["detail"]
    assert (await web.get(REPORT, params={"since": "yesterday"}, headers=inbox.bearer("admin"))).status_code == 400
    assert (await web.get(REPORT, headers=inbox.bearer("agent"))).status_code == 403

"""The inbox API: listing and filtering conversations, working them, replying through the outbox, notes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from scrm.auth.accounts import create_workspace
from scrm.auth.roles import Principal
from scrm.inbox import teams
from scrm.inbox.latest_tags import note_latest_tags
from scrm.models import Conversation, Note, OutboundMessage, OutboundStatus, Role
from tests.inbox.conftest import Inbox, signed_in, tags

URL = "/api/v1/conversations"


async def names(web: httpx.AsyncClient, inbox: Inbox, who: str = "admin", **params: Any) -> list[str]:
    """The contacts of the listed conversations, in list order."""
    response = await web.get(URL, params=params, headers=inbox.bearer(who))
    assert response.status_code == 200, response.text
    by_id = {inbox.cid(name): name for name in inbox.conversations}
    return [by_id[item["id"]] for item in response.json()["items"]]


async def test_the_list_is_sorted_by_last_activity_with_counts_per_status(web: httpx.AsyncClient, inbox: Inbox) -> None:
    response = await web.get(URL, headers=inbox.bearer("admin"))
    body = response.json()
    assert [item["last_message_preview"] for item in body["items"]] == [
        "Ah it came, thanks!",
        "咖啡洒了",
        "How much is a bag?",
    ]
    assert body["counts"] == {"open": 2, "pending": 0, "snoozed": 0, "resolved": 1}
    assert body["items"][0]["unread_count"] == 2 and body["items"][0]["labels"] == []


async def test_filters_by_channel_status_label_and_unread(web: httpx.AsyncClient, inbox: Inbox) -> None:
    assert await names(web, inbox, channel_id=str(inbox.telegram.id)) == ["Mia", "Sam"]
    assert await names(web, inbox, status="resolved") == ["Sam"]
    assert await names(web, inbox, status="open", channel_id=str(inbox.wechat.id)) == ["Li"]
    await inbox.scope.find(Conversation, {"_id": inbox.conversations["Li"].id}).update({"$set": {"unread_count": 0}})
    assert await names(web, inbox, unread=True) == ["Mia", "Sam"]
    patched = await web.patch(f"{URL}/{inbox.cid('Sam')}", json={"labels": ["vip"]}, headers=inbox.bearer("admin"))
    assert patched.status_code == 200
    assert await names(web, inbox, label="vip") == ["Sam"]
    counts = (await web.get(URL, params={"label": "vip"}, headers=inbox.bearer("admin"))).json()["counts"]
    assert counts == {"open": 0, "pending": 0, "snoozed": 0, "resolved": 1}


async def test_sentiment_and_intent_follow_the_latest_tagged_inbound_message(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    assert await names(web, inbox, sentiment="negative") == ["Li"]  # Mia's complaint was followed by thanks
    assert await names(web, inbox, sentiment="positive") == ["Mia"]
    assert await names(web, inbox, intent="complaint") == ["Li"]
    assert await names(web, inbox, intent="praise", sentiment="positive") == ["Mia"]
    assert await names(web, inbox, intent="praise", sentiment="negative") == []
    assert await names(web, inbox, intent="spam") == []
    assert await names(web, inbox, language="zh") == ["Li"]
    assert await names(web, inbox, language="en", status="open") == ["Mia"]
    refused = await web.get(URL, params={"language": "klingon"}, headers=inbox.bearer("admin"))
    assert refused.status_code == 400 and "language" in refused.text
    body = (await web.get(URL, params={"intent": "spam"}, headers=inbox.bearer("admin"))).json()
    assert body["counts"] == {"open": 0, "pending": 0, "snoozed": 0, "resolved": 0}


async def test_assignee_filters_for_me_unassigned_and_a_user(web: httpx.AsyncClient, inbox: Inbox) -> None:
    agent_id = str(inbox.users["agent"].id)
    response = await web.patch(
        f"{URL}/{inbox.cid('Mia')}", json={"assignee_id": agent_id}, headers=inbox.bearer("admin")
    )
    assert response.status_code == 200 and response.json()["assignee_id"] == agent_id
    assert await names(web, inbox, assignee=agent_id) == ["Mia"]
    assert await names(web, inbox, assignee="unassigned") == ["Li", "Sam"]
    token_me = await web.get(URL, params={"assignee": "me"}, headers=inbox.bearer("admin"))
    assert token_me.status_code == 400 and "user id" in token_me.json()["detail"]
    assert (await web.get(URL, params={"assignee": "someone"}, headers=inbox.bearer("admin"))).status_code == 400


async def test_pages_follow_each_other_through_cursors(web: httpx.AsyncClient, inbox: Inbox) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await web.get(URL, params=params, headers=inbox.bearer("admin"))).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [inbox.cid("Mia"), inbox.cid("Li"), inbox.cid("Sam")]
    bad = await web.get(URL, params={"cursor": "yesterday"}, headers=inbox.bearer("admin"))
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


async def test_status_changes_and_snoozing_need_a_future_time(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    url, admin = f"{URL}/{inbox.cid('Mia')}", inbox.bearer("admin")
    assert (await web.patch(url, json={"status": "pending"}, headers=admin)).json()["status"] == "pending"
    past = await web.patch(
        url, json={"status": "snoozed", "snoozed_until": (now - timedelta(hours=1)).isoformat()}, headers=admin
    )
    assert past.status_code == 400 and "future" in past.json()["detail"]
    until = now + timedelta(hours=4)
    snoozed = (
        await web.patch(url, json={"status": "snoozed", "snoozed_until": until.isoformat()}, headers=admin)
    ).json()
    assert snoozed["status"] == "snoozed" and datetime.fromisoformat(snoozed["snoozed_until"]) == until
    reopened = (await web.patch(url, json={"status": "open"}, headers=admin)).json()
    assert reopened["status"] == "open" and reopened["snoozed_until"] is None
    assert (await web.patch(url, json={"status": "closed"}, headers=admin)).status_code == 400


async def test_only_inbox_members_can_be_assigned(web: httpx.AsyncClient, inbox: Inbox) -> None:
    url, admin = f"{URL}/{inbox.cid('Mia')}", inbox.bearer("admin")
    viewer = await web.patch(url, json={"assignee_id": str(inbox.users["viewer"].id)}, headers=admin)
    assert viewer.status_code == 400
    stranger = await web.patch(url, json={"assignee_id": "0123456789abcdef01234567"}, headers=admin)
    assert stranger.status_code == 400
    unassigned = await web.patch(url, json={"assignee_id": None}, headers=admin)
    assert unassigned.status_code == 200 and unassigned.json()["assignee_id"] is None


async def test_a_reply_is_queued_once_per_idempotency_key(web: httpx.AsyncClient, inbox: Inbox) -> None:
    url, agent = f"{URL}/{inbox.cid('Mia')}/replies", inbox.bearer("agent")
    body = {"text": "Glad it arrived!", "idempotency_key": "form-4f1c2a9b"}
    first = await web.post(url, json=body, headers=agent)
    again = await web.post(url, json=body, headers=agent)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "queued"
    rows = await inbox.scope.find(OutboundMessage, {}).to_list()
    assert len(rows) == 1
    row = rows[0]
    assert row.source == "inbox" and row.payload["text"] == "Glad it arrived!" and row.status is OutboundStatus.QUEUED
    assert (
        row.conversation_id == inbox.conversations["Mia"].id and row.contact_id == inbox.conversations["Mia"].contact_id
    )
    other = await web.post(url, json={**body, "idempotency_key": "form-77aa"}, headers=agent)
    assert other.json()["id"] != first.json()["id"]
    assert await inbox.scope.count(OutboundMessage) == 2


async def test_a_reply_outside_the_wechat_window_is_refused_with_the_reason(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    li = inbox.conversations["Li"]
    await inbox.scope.find(Conversation, {"_id": li.id}).update(
        {"$set": {"last_inbound_at": now - timedelta(hours=49)}}
    )
    body = {"text": "Sorry for the wait!", "idempotency_key": "late-reply-1"}
    response = await web.post(f"{URL}/{li.id}/replies", json=body, headers=inbox.bearer("admin"))
    assert response.status_code == 422
    assert "48-hour" in response.json()["detail"] and "49 hours ago" in response.json()["detail"]
    assert await inbox.scope.count(OutboundMessage) == 0
    await inbox.scope.find(Conversation, {"_id": li.id}).update(
        {"$set": {"last_inbound_at": now - timedelta(hours=47)}}
    )
    assert (await web.post(f"{URL}/{li.id}/replies", json=body, headers=inbox.bearer("admin"))).status_code == 201


async def test_bad_replies_are_400_and_viewers_cannot_reply(web: httpx.AsyncClient, inbox: Inbox) -> None:
    url = f"{URL}/{inbox.cid('Mia')}/replies"
    blank = await web.post(url, json={"text": "   ", "idempotency_key": "blank-key-1"}, headers=inbox.bearer("admin"))
    assert blank.status_code == 400
    short_key = await web.post(url, json={"text": "hi", "idempotency_key": "k"}, headers=inbox.bearer("admin"))
    assert short_key.status_code == 400
    viewer = await web.post(url, json={"text": "hi", "idempotency_key": "viewer-key"}, headers=inbox.bearer("viewer"))
    assert viewer.status_code == 403
    assert await inbox.scope.count(OutboundMessage) == 0


async def test_an_agent_reaches_only_the_conversations_of_their_channels(web: httpx.AsyncClient, inbox: Inbox) -> None:
    assert await names(web, inbox, who="agent") == ["Mia", "Sam"]
    assert await names(web, inbox, who="other_agent") == ["Li"]
    li, agent = inbox.cid("Li"), inbox.bearer("agent")
    assert (await web.get(f"{URL}/{li}", headers=agent)).status_code == 404
    assert (await web.get(f"{URL}/{li}/messages", headers=agent)).status_code == 404
    assert (await web.patch(f"{URL}/{li}", json={"status": "resolved"}, headers=agent)).status_code == 404
    reply = {"text": "hello", "idempotency_key": "agent-key-1"}
    assert (await web.post(f"{URL}/{li}/replies", json=reply, headers=agent)).status_code == 404
    note = {"conversation_id": li, "text": "not mine"}
    assert (await web.post("/api/v1/notes", json=note, headers=agent)).status_code == 404
    assert await inbox.scope.count(OutboundMessage) == 0 and await inbox.scope.count(Note) == 0
    stored = await inbox.scope.get(Conversation, inbox.oid("Li"))
    assert stored.status.value == "open"
    counts = (await web.get(URL, headers=agent)).json()["counts"]
    assert counts == {"open": 1, "pending": 0, "snoozed": 0, "resolved": 1}


async def test_notes_are_written_listed_and_kept_within_reach(web: httpx.AsyncClient, inbox: Inbox) -> None:
    mia, admin = inbox.cid("Mia"), inbox.bearer("admin")
    written = await web.post("/api/v1/notes", json={"conversation_id": mia, "text": "Refund sent."}, headers=admin)
    assert written.status_code == 201
    note = written.json()
    assert note["author"].startswith("token:") and note["text"] == "Refund sent."
    on_li = {"conversation_id": inbox.cid("Li"), "text": "Called her."}
    assert (await web.post("/api/v1/notes", json=on_li, headers=admin)).status_code == 201
    listed = (await web.get("/api/v1/notes", params={"conversation_id": mia}, headers=admin)).json()
    assert [n["text"] for n in listed["items"]] == ["Refund sent."]
    mine = (await web.get("/api/v1/notes", headers=inbox.bearer("agent"))).json()
    assert [n["text"] for n in mine["items"]] == ["Refund sent."]
    li_note = (await web.get("/api/v1/notes", headers=inbox.bearer("other_agent"))).json()["items"][0]["id"]
    assert (await web.get(f"/api/v1/notes/{li_note}", headers=inbox.bearer("agent"))).status_code == 404
    empty = {"conversation_id": mia, "text": ""}
    assert (await web.post("/api/v1/notes", json=empty, headers=admin)).status_code == 400


async def test_labels_are_cleaned_and_deduplicated(web: httpx.AsyncClient, inbox: Inbox) -> None:
    url, agent = f"{URL}/{inbox.cid('Mia')}", inbox.bearer("agent")
    response = await web.patch(url, json={"labels": [" late  order ", "vip", "late order"]}, headers=agent)
    assert response.status_code == 200 and response.json()["labels"] == ["late order", "vip"]
    too_long = await web.patch(url, json={"labels": ["x" * 41]}, headers=agent)
    assert too_long.status_code == 400


async def test_a_newly_tagged_message_moves_a_conversation_between_sentiment_filters(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    mia = inbox.conversations["Mia"]
    assert mia.id is not None
    late = (mia.last_message_at or datetime.now()) + timedelta(minutes=1)
    await inbox.add_message(mia, "Mia-late", "Actually the box was crushed.", late, tags=tags("negative", "complaint"))
    await note_latest_tags([(mia.id, tags("negative", "complaint"), late)])  # what tagging it does
    assert await names(web, inbox, sentiment="negative") == ["Mia", "Li"]
    assert await names(web, inbox, sentiment="positive") == []


async def test_a_bulk_change_reaches_only_the_conversations_in_reach(web: httpx.AsyncClient, inbox: Inbox) -> None:
    ids = [inbox.cid("Mia"), inbox.cid("Li"), inbox.cid("Sam")]
    body = {"ids": ids, "status": "pending", "add_label": "triaged"}
    response = await web.post(f"{URL}/bulk", json=body, headers=inbox.bearer("agent"))
    assert response.status_code == 200 and response.json() == {"matched": 2}
    for name, status, labels in (("Mia", "pending", ["triaged"]), ("Sam", "pending", ["triaged"]), ("Li", "open", [])):
        stored = await inbox.scope.get(Conversation, inbox.oid(name))
        assert (stored.status.value, stored.labels) == (status, labels), name
    agent_id = str(inbox.users["agent"].id)
    assigned = await web.post(f"{URL}/bulk", json={"ids": ids, "assignee_id": agent_id}, headers=inbox.bearer("admin"))
    assert assigned.json() == {"matched": 3}
    assert await names(web, inbox, assignee=agent_id) == ["Mia", "Li", "Sam"]
    nobody = await web.post(f"{URL}/bulk", json={"ids": ids[:1], "assignee_id": None}, headers=inbox.bearer("admin"))
    assert nobody.json() == {"matched": 1}
    assert await names(web, inbox, assignee="unassigned") == ["Mia"]


async def test_bulk_changes_are_checked(web: httpx.AsyncClient, inbox: Inbox) -> None:
    admin, url = inbox.bearer("admin"), f"{URL}/bulk"
    assert (await web.post(url, json={"ids": [inbox.cid("Mia")]}, headers=admin)).status_code == 400
    snooze = {"ids": [inbox.cid("Mia")], "status": "snoozed"}
    assert (await web.post(url, json=snooze, headers=admin)).status_code == 400
    assert (await web.post(url, json={"ids": [], "status": "resolved"}, headers=admin)).status_code == 400
    viewer = await web.post(url, json={"ids": [inbox.cid("Mia")], "status": "resolved"}, headers=inbox.bearer("viewer"))
    assert viewer.status_code == 403
    stored = await inbox.scope.get(Conversation, inbox.oid("Mia"))
    assert stored.status.value == "open"


async def test_a_bulk_change_moves_conversations_to_a_team_within_reach(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, "user:test")
    team = await teams.create_team(owner, "Billing", now)
    ids, url = [inbox.cid("Mia"), inbox.cid("Li")], f"{URL}/bulk"
    moved = await web.post(url, json={"ids": ids, "team_id": str(team.id)}, headers=inbox.bearer("agent"))
    assert moved.status_code == 200 and moved.json() == {"matched": 1}  # Li (WeChat) is out of the agent's reach
    mia, li = [await inbox.scope.get(Conversation, inbox.oid(name)) for name in ("Mia", "Li")]
    assert mia.team_id == team.id and li.team_id is None
    assert await names(web, inbox, team_id=str(team.id)) == ["Mia"]
    out = await web.post(url, json={"ids": ids, "team_id": None}, headers=inbox.bearer("admin"))
    assert out.json() == {"matched": 2} and (await inbox.scope.get(Conversation, inbox.oid("Mia"))).team_id is None
    other = await create_workspace("elsewhere", now, actor="test", display_name="Elsewhere")
    assert other.id is not None
    foreign = await teams.create_team(Principal(other.id, Role.OWNER, "user:test"), "Billing", now)
    refused = await web.post(url, json={"ids": ids, "team_id": str(foreign.id)}, headers=inbox.bearer("admin"))
    assert refused.status_code == 400 and "not a team of this workspace" in refused.json()["detail"]
    bad = await web.post(url, json={"ids": ids, "team_id": "nope"}, headers=inbox.bearer("admin"))
    assert bad.status_code == 400
    assert all(c.team_id is None for c in await inbox.scope.find(Conversation).to_list())


async def test_canned_responses_are_saved_and_offered_in_the_reply_box(web: httpx.AsyncClient, inbox: Inbox) -> None:
    url, admin = "/api/v1/canned-responses", inbox.bearer("admin")  # the workspace's are an admin's to keep
    saved = await web.post(url, json={"name": "Shipping", "text": "We ship in 2-4 days."}, headers=admin)
    assert saved.status_code == 201 and saved.json()["name"] == "shipping"
    taken = await web.post(url, json={"name": "shipping", "text": "Other text"}, headers=admin)
    assert taken.status_code == 409
    changed = await web.patch(f"{url}/{saved.json()['id']}", json={"text": "We ship in 1-3 days."}, headers=admin)
    assert changed.json()["text"] == "We ship in 1-3 days."
    listed = (await web.get(url, headers=inbox.bearer("viewer"))).json()["items"]
    assert [(c["name"], c["text"]) for c in listed] == [("shipping", "We ship in 1-3 days.")]
    assert (await web.post(url, json={"name": "x", "text": "y"}, headers=inbox.bearer("viewer"))).status_code == 403
    assert (await web.post(url, json={"name": "bad shortcut", "text": "y"}, headers=admin)).status_code == 400
    await signed_in(web, "agent")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers={"accept": "text/html"})
    assert 'id="canned-pick"' in page.text and '<option value="We ship in 1-3 days.">/shipping</option>' in page.text
    assert (await web.delete(f"{url}/{saved.json()['id']}", headers=admin)).status_code == 204
    assert (await web.get(url, headers=admin)).json()["items"] == []

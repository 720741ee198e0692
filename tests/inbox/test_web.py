"""The web inbox: pages, filters, forms and their rules, through the full app as a browser would use it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

from scrm.auth.roles import Principal
from scrm.inbox import teams
from scrm.models import Conversation, Note, OutboundMessage, Role
from scrm.web import i18n
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in

FORM = {"content-type": "application/x-www-form-urlencoded"}
TEMPLATES = Path(i18n.__file__).parent / "templates"


def field(page: httpx.Response, name: str) -> str:
    """The value of a hidden field of the reply form."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text[page.text.index('id="reply-form"') :])
    assert found, f"no {name} in the reply form"
    return found.group(1)


def listed(page: httpx.Response) -> list[str]:
    """The contact names in the page's conversation list, in order."""
    return re.findall(r'<strong class="conv-name">([^<]+)</strong>', page.text)


async def test_the_inbox_needs_a_login(web: httpx.AsyncClient, inbox: Inbox) -> None:
    response = await web.get("/inbox", headers=HTML)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/inbox"
    fragment = await web.get("/inbox/list", headers={**HTML, "hx-request": "true"})
    assert fragment.status_code == 401


async def test_the_list_shows_open_conversations_and_filters_by_query(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    page = await web.get("/inbox", headers=HTML)
    assert page.status_code == 200 and listed(page) == ["Mia", "Li"]
    assert 'data-count="open">2<' in page.text and 'data-count="resolved">1<' in page.text
    assert listed(await web.get("/inbox?status=all", headers=HTML)) == ["Mia", "Li", "Sam"]
    assert listed(await web.get(f"/inbox?status=all&channel={inbox.telegram.id}", headers=HTML)) == ["Mia", "Sam"]
    assert listed(await web.get("/inbox?sentiment=negative", headers=HTML)) == ["Li"]
    assert listed(await web.get("/inbox?language=zh", headers=HTML)) == ["Li"]
    assert listed(await web.get("/inbox?status=bogus&intent=nonsense", headers=HTML)) == ["Mia", "Li"]
    fragment = await web.get("/inbox/list?status=resolved", headers={**HTML, "hx-request": "true"})
    assert listed(fragment) == ["Sam"] and "<html" not in fragment.text


async def test_an_agent_sees_their_channels_and_gets_404_elsewhere(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    assert listed(await web.get("/inbox?status=all", headers=HTML)) == ["Mia", "Sam"]
    response = await web.get(f"/inbox/{inbox.cid('Li')}", headers=HTML)
    assert response.status_code == 404 and "咖啡洒了" not in response.text
    assert (await web.get("/inbox/not-an-id", headers=HTML)).status_code == 404


async def test_opening_a_conversation_shows_the_thread_and_marks_it_read(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers=HTML)
    assert page.status_code == 200
    assert "My order is late!" in page.text and "Ah it came, thanks!" in page.text
    assert 'data-sentiment="positive"' in page.text and 'data-intent="complaint"' in page.text
    assert 'data-window="open"' in page.text and "Telegram has no messaging window" in page.text
    assert 'data-identity="telegram:mia-1"' in page.text
    stored = await inbox.scope.get(Conversation, inbox.oid("Mia"))
    assert stored.unread_count == 0
    thread = await web.get(f"/inbox/{inbox.cid('Mia')}/thread", headers={**HTML, "hx-request": "true"})
    assert "Ah it came, thanks!" in thread.text and "<html" not in thread.text


async def test_submitting_the_reply_form_twice_queues_one_message(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    url = f"/inbox/{inbox.cid('Mia')}"
    page = await web.get(url, headers=HTML)
    form = {
        "csrf_token": csrf_of(page),
        "idempotency_key": field(page, "idempotency_key"),
        "filters": "status=all",
        "text": "Happy to hear it!",
    }
    first = await web.post(f"{url}/reply", data=form, headers=HTML)
    second = await web.post(f"{url}/reply", data=form, headers=HTML)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"{url}?status=all"
    rows = await inbox.scope.find(OutboundMessage, {}).to_list()
    assert [r.payload["text"] for r in rows] == ["Happy to hear it!"]
    after = await web.get(url, headers=HTML)
    assert 'data-delivery="queued"' in after.text and field(after, "idempotency_key") != form["idempotency_key"]


async def test_a_reply_outside_the_window_is_refused_on_the_page(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    li = inbox.conversations["Li"]
    await inbox.scope.find(Conversation, {"_id": li.id}).update(
        {"$set": {"last_inbound_at": now - timedelta(hours=50)}}
    )
    await signed_in(web, "admin")
    page = await web.get(f"/inbox/{li.id}", headers=HTML)
    assert 'data-window="closed"' in page.text and 'id="reply-send" disabled' in page.text
    form = {"csrf_token": csrf_of(page), "idempotency_key": field(page, "idempotency_key"), "text": "Sorry!"}
    refused = await web.post(f"/inbox/{li.id}/reply", data=form, headers=HTML)
    assert refused.status_code == 422
    assert "messaging window is closed" in refused.text and "48-hour" in refused.text
    assert await inbox.scope.count(OutboundMessage) == 0


async def test_notes_labels_assignment_and_status_through_the_forms(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    url = f"/inbox/{inbox.cid('Mia')}"
    token = csrf_of(await web.get(url, headers=HTML))
    for action, fields in (
        ("notes", {"text": "Sent a voucher."}),
        ("labels", {"label": "voucher"}),
        ("labels", {"label": "late"}),
        ("labels/remove", {"label": "late"}),
        ("assign", {"assignee": "me"}),
        ("status", {"status": "snoozed", "snooze": "4h"}),
    ):
        response = await web.post(f"{url}/{action}", data={"csrf_token": token, **fields}, headers=HTML)
        assert response.status_code == 303, (action, response.text[:300])
    stored = await inbox.scope.get(Conversation, inbox.oid("Mia"))
    assert stored.labels == ["voucher"] and stored.assignee_id == inbox.users["agent"].id
    assert stored.status.value == "snoozed" and stored.snoozed_until is not None
    notes = await inbox.scope.find(Note, {}).to_list()
    assert [(n.text, n.author_name) for n in notes] == [("Sent a voucher.", "Agent")]
    page = await web.get(url, headers=HTML)
    assert "Sent a voucher." in page.text and 'data-label="voucher"' in page.text
    assert f'data-assignee="{inbox.users["agent"].id}"' in page.text
    mine = await web.get("/inbox?status=all&assignee=me", headers=HTML)
    assert listed(mine) == ["Mia"]


async def test_forms_without_the_csrf_token_or_by_a_viewer_are_refused(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "viewer")
    url = f"/inbox/{inbox.cid('Mia')}"
    page = await web.get(url, headers=HTML)
    assert page.status_code == 200 and 'id="resolve"' not in page.text and 'id="reply-send" disabled' in page.text
    token = csrf_of(page)
    viewer = await web.post(f"{url}/status", data={"csrf_token": token, "status": "resolved"}, headers=HTML)
    assert viewer.status_code == 403
    forged = await web.post(f"{url}/status", data={"csrf_token": "guess", "status": "resolved"}, headers=HTML)
    assert forged.status_code == 403
    stored = await inbox.scope.get(Conversation, inbox.oid("Mia"))
    assert stored.status.value == "open"


async def test_the_inbox_speaks_chinese(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    web.cookies.set(i18n.COOKIE, "zh-CN")
    page = await web.get(f"/inbox/{inbox.cid('Li')}", headers=HTML)
    assert "<h1" in page.text and "收件箱" in page.text and "发送回复" in page.text and "负面" in page.text
    assert "微信 允许在联系人最后一条消息后 48 小时内回复" in page.text


def test_every_inbox_string_is_in_both_catalogs() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("inbox*.html"):
        used |= set(re.findall(r"""t\(["']([a-z_.]+[a-z])["']""", template.read_text(encoding="utf-8")))
    dynamic = {
        "inbox.status.": ("open", "pending", "snoozed", "resolved", "all"),
        "inbox.assignee.": ("anyone", "me", "unassigned"),
        "inbox.delivery.": ("queued", "sending", "sent", "delivered", "read", "failed", "cancelled"),
        "inbox.snooze.": ("1h", "4h", "1d", "7d"),
        "platform.": ("telegram", "wechat", "wecom", "meta", "line", "x", "api"),
        "consent.": ("unknown", "granted", "denied"),
        "tag.sentiment.": ("negative", "neutral", "positive"),
        "tag.intent.": (
            "purchase_inquiry",
            "pricing",
            "complaint",
            "support_request",
            "praise",
            "lead",
            "spam",
            "other",
        ),
        "tag.language.": ("en", "zh", "other"),
        "tag.entity.": ("phone", "email", "wechat", "order_number", "url", "money"),
        "polish.sort.": ("recent", "waiting"),
        "polish.waiting.": ("minutes", "hours", "days"),
    }
    used |= {prefix + value for prefix, values in dynamic.items() for value in values}
    used |= {"inbox.reply.refused", "inbox.error.input", "inbox.bulk.pick"}
    for language in i18n.LANGUAGES:
        assert sorted(used - set(i18n.catalog(language))) == [], language


async def test_the_bulk_bar_moves_the_ticked_conversations_to_a_team(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    team = await teams.create_team(Principal(inbox.scope.workspace_id, Role.OWNER, "user:test"), "Returns", now)
    await signed_in(web, "agent")
    page = await web.get("/inbox", headers=HTML)
    assert f'<option value="{team.id}">Returns</option>' in page.text and 'id="bulk-move-team"' in page.text
    form = [("csrf_token", csrf_of(page)), ("filters", "sort=waiting"), ("action", "team"), ("team", str(team.id))]
    form += [("ids", inbox.cid("Mia")), ("ids", inbox.cid("Li"))]  # Li is out of the agent's reach
    response = await web.post("/inbox/bulk", content=urlencode(form), headers={**HTML, **FORM})
    assert response.status_code == 303 and response.headers["location"] == "/inbox?sort=waiting"
    mia, li = [await inbox.scope.get(Conversation, inbox.oid(name)) for name in ("Mia", "Li")]
    assert mia.team_id == team.id and li.team_id is None
    out = [("csrf_token", csrf_of(page)), ("action", "team"), ("team", "none"), ("ids", inbox.cid("Mia"))]
    moved_out = await web.post("/inbox/bulk", content=urlencode(out), headers={**HTML, **FORM})
    assert moved_out.status_code == 303, moved_out.text[-2000:]
    assert (await inbox.scope.get(Conversation, inbox.oid("Mia"))).team_id is None
    bogus = [("csrf_token", csrf_of(page)), ("action", "team"), ("team", "x"), ("ids", inbox.cid("Mia"))]
    assert (await web.post("/inbox/bulk", content=urlencode(bogus), headers={**HTML, **FORM})).status_code == 400
    web.cookies.set(i18n.COOKIE, "zh-CN")
    assert "移至团队" in (await web.get("/inbox", headers=HTML)).text


async def test_the_bulk_bar_resolves_the_ticked_conversations(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    page = await web.get("/inbox", headers=HTML)
    assert 'id="bulk-form"' in page.text and 'form="bulk-form"' in page.text
    form = [("csrf_token", csrf_of(page)), ("filters", "status=open"), ("action", "resolved")]
    form += [("ids", inbox.cid("Mia")), ("ids", inbox.cid("Li"))]  # Li is out of the agent's reach
    response = await web.post("/inbox/bulk", content=urlencode(form), headers={**HTML, **FORM})
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    mia, li = (
        await inbox.scope.get(Conversation, inbox.oid("Mia")),
        await inbox.scope.get(Conversation, inbox.oid("Li")),
    )
    assert mia.status.value == "resolved" and li.status.value == "open"

"""The inbox's contact panel and thread history through the full app: editing, the timeline, merge and unmerge,
blocking, older messages a page at a time, and the messaging window in the reader's language."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
from beanie import PydanticObjectId

from scrm.connectors.items import InboundMessage, Sender
from scrm.contacts.suggestions import suggest_for_new_contacts
from scrm.events import Where
from scrm.inbox.view import THREAD_PAGE
from scrm.ingest import record
from scrm.models import (
    AuditAction,
    AuditEntry,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    MergeRecord,
    Message,
    Note,
    OutboundMessage,
)
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in, talk

FORM = {"content-type": "application/x-www-form-urlencoded"}
HTMX = {**HTML, "hx-request": "true"}


def contact_of(inbox: Inbox, name: str) -> PydanticObjectId:
    """The contact of the conversation with `name`."""
    return inbox.conversations[name].contact_id


def listed(page: httpx.Response) -> list[str]:
    """The contact names in the page's conversation list, in order."""
    return re.findall(r'<strong class="conv-name">([^<]+)</strong>', page.text)


def entries(html: str) -> list[str]:
    """The ids of the thread's messages in a piece of HTML, in order."""
    return re.findall(r'data-entry="([0-9a-f]{24})"', html)


async def open_page(web: httpx.AsyncClient, inbox: Inbox, name: str, **headers: str) -> httpx.Response:
    """The conversation page of `name`."""
    page = await web.get(f"/inbox/{inbox.cid(name)}", headers={**HTML, **headers})
    assert page.status_code == 200, page.text
    return page


async def test_the_edit_form_saves_in_place_and_says_what_is_wrong(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    page = await open_page(web, inbox, "Mia")
    assert 'id="contact-edit-form"' in page.text
    mia = contact_of(inbox, "Mia")
    form = {
        "csrf_token": csrf_of(page),
        "conversation": inbox.cid("Mia"),
        "name": "Mia Wong",
        "email": "Mia@Example.com",
        "phone": "+852 9123 4567",
        "language": "zh-HK",
        "timezone": "Asia/Hong_Kong",
        "tags": "vip, repeat",
        "attributes": "city: Hong Kong\nfavourite = oat latte",
    }
    saved = await web.post(f"/inbox/contacts/{mia}/edit", data=form, headers={**HTMX, **FORM})
    assert saved.status_code == 200, saved.text
    assert "data-saved" in saved.text and "<html" not in saved.text and "+85291234567" in saved.text
    stored = await inbox.scope.get(Contact, mia)
    assert (stored.name, stored.email, stored.phone) == ("Mia Wong", "mia@example.com", "+85291234567")
    assert stored.tags == ["vip", "repeat"] and stored.attributes == {"city": "Hong Kong", "favourite": "oat latte"}
    assert await AuditEntry.find({"action": AuditAction.CONTACT_UPDATED.value, "target": f"contact:{mia}"}).count()

    wrong = await web.post(
        f"/inbox/contacts/{mia}/edit", data={**form, "timezone": "Moon/Base"}, headers={**HTMX, **FORM}
    )
    assert wrong.status_code == 200 and "data-edit-error" in wrong.text and "Moon/Base" in wrong.text
    assert (await inbox.scope.get(Contact, mia)).timezone == "Asia/Hong_Kong"
    plain = await web.post(f"/inbox/contacts/{mia}/edit", data={**form, "email": "nope@"}, headers={**HTML, **FORM})
    assert plain.status_code == 422 and "is not an email address" in plain.text
    back = await web.post(f"/inbox/contacts/{mia}/edit", data={**form, "name": "Mia W."}, headers={**HTML, **FORM})
    assert back.status_code == 303 and back.headers["location"] == f"/inbox/{inbox.cid('Mia')}"
    forged = await web.post(f"/inbox/contacts/{mia}/edit", data={**form, "csrf_token": "x"}, headers={**HTML, **FORM})
    assert forged.status_code == 403


async def test_viewers_see_no_edit_form_and_cannot_post_one(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "viewer")
    page = await open_page(web, inbox, "Mia")
    assert 'id="contact-edit-form"' not in page.text and "data-contact=" in page.text
    mia = contact_of(inbox, "Mia")
    form = {"csrf_token": csrf_of(page), "name": "Hacked"}
    refused = await web.post(f"/inbox/contacts/{mia}/edit", data=form, headers={**HTML, **FORM})
    assert refused.status_code == 403
    assert (await inbox.scope.get(Contact, mia)).name == "Mia"


async def test_an_agent_cannot_reach_a_contact_outside_their_channels(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    page = await open_page(web, inbox, "Mia")
    li = contact_of(inbox, "Li")
    form = {"csrf_token": csrf_of(page), "name": "Changed"}
    assert (await web.post(f"/inbox/contacts/{li}/edit", data=form, headers={**HTML, **FORM})).status_code == 404
    assert (await web.get(f"/inbox/contacts/{li}/timeline", headers=HTMX)).status_code == 404
    assert (await inbox.scope.get(Contact, li)).name == "Li"


async def test_the_timeline_loads_more_without_overlap(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    mia = inbox.conversations["Mia"]
    for n in range(40):
        await inbox.add_message(
            mia, f"old-{n}", f"Old news {n}", now - timedelta(days=30, minutes=n), Direction.OUTBOUND
        )
    await signed_in(web, "agent")
    first = await web.get(f"/inbox/contacts/{mia.contact_id}/timeline", headers=HTMX)
    assert first.status_code == 200 and "<html" not in first.text
    ids = re.findall(r'data-item="([0-9a-f]{24})"', first.text)
    assert len(ids) == 30 and 'data-timeline="message_in"' in first.text
    cursor = re.search(r'data-cursor="([^"]+)"', first.text)
    assert cursor is not None
    second = await web.get(f"/inbox/contacts/{mia.contact_id}/timeline?cursor={cursor.group(1)}", headers=HTMX)
    more = re.findall(r'data-item="([0-9a-f]{24})"', second.text)
    assert len(more) == 13 and not set(ids) & set(more)  # 42 messages and the conversation's opening
    assert "data-cursor" not in second.text and "Old news 39" in second.text


async def test_merge_preview_then_merge_then_unmerge_restores_both(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    twin = await talk(inbox, inbox.telegram, "Mia2", now - timedelta(days=2), [("It's Mia, new phone", None)])
    mia = contact_of(inbox, "Mia")
    pair = {"_id": {"$in": [mia, twin.contact_id]}}
    await inbox.scope.find(Contact, pair).update({"$set": {"phone": "+85291234567"}})
    await suggest_for_new_contacts([twin.contact_id])
    await signed_in(web, "agent")
    page = await open_page(web, inbox, "Mia")
    base = f"/inbox/contacts/{mia}/merge?conversation={inbox.cid('Mia')}"

    panel = await web.get(base, headers=HTMX)
    assert f'data-preview="{twin.contact_id}"' in panel.text and "data-suggestion=" in panel.text
    found = await web.get(f"{base}&q=mia2", headers=HTMX)
    assert f'data-found="{twin.contact_id}"' in found.text
    preview = await web.get(f"{base}&other={twin.contact_id}", headers=HTMX)
    assert 'id="merge-preview"' in preview.text
    assert 'data-preview-identity="telegram:mia-1"' in preview.text
    assert 'data-preview-identity="telegram:mia2-1"' in preview.text
    assert await inbox.scope.count(MergeRecord) == 0 and (await inbox.scope.get(Contact, mia)).identities[1:] == []

    form = {"csrf_token": csrf_of(page), "conversation": inbox.cid("Mia"), "other": str(twin.contact_id)}
    merged = await web.post(f"/inbox/contacts/{mia}/merge", data=form, headers={**HTML, **FORM})
    assert merged.status_code == 303, merged.text
    assert len((await inbox.scope.get(Contact, mia)).identities) == 2
    assert (await inbox.scope.get(Contact, twin.contact_id)).merged_into == mia
    assert (await inbox.scope.get(Conversation, inbox.oid("Mia2"))).contact_id == mia

    history = await web.get(base, headers=HTMX)
    record = await inbox.scope.find_one(MergeRecord, {"survivor_id": mia})
    assert record is not None and f'data-unmerge="{record.id}"' in history.text
    undo = {"csrf_token": csrf_of(page), "conversation": inbox.cid("Mia"), "merge": str(record.id)}
    undone = await web.post(f"/inbox/contacts/{mia}/unmerge", data=undo, headers={**HTML, **FORM})
    assert undone.status_code == 303, undone.text
    restored, back = await inbox.scope.get(Contact, mia), await inbox.scope.get(Contact, twin.contact_id)
    assert [i.key for i in restored.identities] == ["telegram:mia-1"]
    assert back.merged_into is None and [i.key for i in back.identities] == ["telegram:mia2-1"]
    assert (await inbox.scope.get(Conversation, inbox.oid("Mia2"))).contact_id == twin.contact_id
    assert "data-undone" in (await web.get(base, headers=HTMX)).text


async def test_a_blocked_contact_is_stored_but_leaves_the_default_list(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await signed_in(web, "admin")
    page = await open_page(web, inbox, "Sam")
    sam = contact_of(inbox, "Sam")
    form = {"csrf_token": csrf_of(page), "conversation": inbox.cid("Sam"), "blocked": "1"}
    blocked = await web.post(f"/inbox/contacts/{sam}/block", data=form, headers={**HTML, **FORM})
    assert blocked.status_code == 303 and (await inbox.scope.get(Contact, sam)).blocked
    assert inbox.telegram.id is not None
    where = Where(inbox.scope.workspace_id, inbox.telegram.id, "telegram")
    await record(InboundMessage("telegram", "sam-late", "sam-1", Sender("sam-1"), now, text="Hello??"), where, now)
    assert await inbox.scope.count(Message, {"contact_id": sam, "text": "Hello??"}) == 1  # nothing lost
    conversation = await inbox.scope.get(Conversation, inbox.oid("Sam"))
    assert conversation.status is ConversationStatus.RESOLVED  # not reopened
    assert "Sam" not in listed(await web.get("/inbox?status=all", headers=HTML))
    assert listed(await web.get("/inbox?status=all&blocked=1", headers=HTML)) == ["Sam"]

    unblock = {**form, "blocked": "0"}
    assert (await web.post(f"/inbox/contacts/{sam}/block", data=unblock, headers={**HTML, **FORM})).status_code == 303
    await record(InboundMessage("telegram", "sam-later", "sam-1", Sender("sam-1"), now, text="Hi"), where, now)
    assert (await inbox.scope.get(Conversation, inbox.oid("Sam"))).status is ConversationStatus.OPEN
    assert listed(await web.get("/inbox", headers=HTML))[0] == "Sam"


async def test_older_history_pages_back_with_no_overlap_and_no_gap(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    mia = inbox.conversations["Mia"]
    start = now - timedelta(days=3)
    for n in range(118):
        # pairs share a time: the cursor must break ties
        await inbox.add_message(mia, f"history-{n}", f"History {n}", start + timedelta(minutes=n // 2))
    note = Note(
        workspace_id=inbox.scope.workspace_id,
        conversation_id=mia.id,
        channel_id=mia.channel_id,
        author="test",
        text="Called her about the early orders",
        created_at=start + timedelta(minutes=10, seconds=30),
    )
    await inbox.scope.insert(note)
    everything = await inbox.scope.find(Message, {"conversation_id": mia.id}).sort("+sent_at", "+_id").to_list()
    assert len(everything) == 120

    await signed_in(web, "agent")
    page = await open_page(web, inbox, "Mia")
    thread = page.text[page.text.index('id="thread"') :]
    shown = entries(thread)
    assert shown == [str(m.id) for m in everything[-THREAD_PAGE:]]
    pages = [shown]
    cursor = re.search(r'id="thread-older" data-cursor="([^"]+)"', page.text)
    notes_seen = 0
    while cursor is not None:
        older = await web.get(f"/inbox/{inbox.cid('Mia')}/thread/older?cursor={cursor.group(1)}", headers=HTMX)
        assert older.status_code == 200, older.text
        pages.insert(0, entries(older.text))
        notes_seen += older.text.count(f'data-note="{note.id}"')
        cursor = re.search(r'id="thread-older" data-cursor="([^"]+)"', older.text)
    assert [len(p) for p in pages] == [20, 50, 50]
    assert [i for p in pages for i in p] == [str(m.id) for m in everything]  # no overlap, no gap
    assert notes_seen == 1 and "data-thread-start" in older.text

    anchor = re.search(r'hx-get="/inbox/[0-9a-f]+/thread\?since=([^"]+)"', page.text)
    assert anchor is not None
    refreshed = await web.get(f"/inbox/{inbox.cid('Mia')}/thread?since={anchor.group(1)}", headers=HTMX)
    assert entries(refreshed.text) == shown and f'data-note="{note.id}"' not in refreshed.text


async def test_the_window_and_a_refusal_speak_chinese(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await signed_in(web, "admin")
    web.cookies.set("scrm_lang", "zh-CN")
    page = await open_page(web, inbox, "Li")
    assert "微信 48 小时窗口：剩余 47 小时" in page.text and 'data-window-key="wechat_48h"' in page.text
    web.cookies.set("scrm_lang", "en")
    assert "WeChat 48 h: 47 h left" in (await open_page(web, inbox, "Li")).text

    await inbox.scope.find(Conversation, {"_id": inbox.oid("Li")}).update(
        {"$set": {"last_inbound_at": now - timedelta(hours=50)}}
    )
    web.cookies.set("scrm_lang", "zh-CN")
    page = await open_page(web, inbox, "Li")
    assert "微信 48 小时窗口：已关闭" in page.text
    form = {"csrf_token": csrf_of(page), "text": "抱歉久等了", "idempotency_key": "late-reply-zh-1"}
    refused = await web.post(f"/inbox/{inbox.cid('Li')}/reply", data=form, headers={**HTML, **FORM})
    assert refused.status_code == 422
    assert "无法发送此回复：微信 48 小时窗口已关闭，联系人最后一次发消息是在 50 小时前。" in refused.text
    assert await inbox.scope.count(OutboundMessage) == 0

    url = f"/api/v1/conversations/{inbox.cid('Li')}/replies"
    body = {"text": "Sorry!", "idempotency_key": "late-reply-api-1"}
    chinese = await web.post(url, json=body, headers={**inbox.bearer("admin"), "accept-language": "zh-CN,zh;q=0.9"})
    assert chinese.status_code == 422 and chinese.json()["code"] == "messaging_window_expired"
    assert chinese.json()["detail"].startswith("无法发送此回复：微信 48 小时窗口已关闭")
    english = await web.post(url, json=body, headers=inbox.bearer("admin"))
    assert english.json()["code"] == "messaging_window_expired" and "48-hour" in english.json()["detail"]
    await inbox.scope.find(Conversation, {"_id": inbox.oid("Li")}).update({"$set": {"last_inbound_at": None}})
    never = await web.post(url, json=body, headers=inbox.bearer("admin"))
    assert never.json()["code"] == "messaging_window_never_opened"

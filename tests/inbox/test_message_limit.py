"""WeChat and WeCom allow 5 messages in the 48-hour window after the contact writes: the sixth reply is refused
before it is queued (in English and Chinese), a new message of the contact opens a new count, Telegram has none,
and the reply box's chip says how many are left."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import httpx

from scrm import messaging_windows
from scrm.connectors.items import InboundMessage, Sender
from scrm.events import Where
from scrm.ingest import record
from scrm.models import OutboundMessage, OutboundStatus
from tests.auth.forms import HTML
from tests.inbox.conftest import Inbox, signed_in

LIMIT = "messaging_window_message_limit"


async def send(web: httpx.AsyncClient, inbox: Inbox, name: str, key: str, **headers: str) -> httpx.Response:
    """Post a reply to `name`'s conversation through the API."""
    body = {"text": f"reply {key}", "idempotency_key": f"limit-key-{key}"}
    url = f"/api/v1/conversations/{inbox.cid(name)}/replies"
    return await web.post(url, json=body, headers={**inbox.bearer("admin"), **headers})


def chip(page: httpx.Response) -> str | None:
    """The text of the messages-left chip next to the reply box, or None without one."""
    found = re.search(r'<span class="chip window-chip" id="messages-left"[^>]*>([^<]*)</span>', page.text)
    return found.group(1) if found else None


async def test_five_replies_go_out_and_the_sixth_is_refused_until_the_contact_writes_again(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    for number in range(5):
        assert (await send(web, inbox, "Li", str(number))).status_code == 201
    again = await send(web, inbox, "Li", "4")  # a retried request is the same message, not a sixth
    assert again.status_code == 201
    sixth = await send(web, inbox, "Li", "5")
    assert sixth.status_code == 422 and sixth.json()["code"] == LIMIT
    assert "5 messages" in sixth.json()["detail"] and "48-hour" in sixth.json()["detail"]
    chinese = await send(web, inbox, "Li", "5", **{"accept-language": "zh-CN,zh;q=0.9"})
    assert chinese.json()["code"] == LIMIT
    detail = chinese.json()["detail"]
    assert detail.startswith("无法发送此回复：自联系人最后一次发消息以来，微信 48 小时窗口内已发送 5 条消息")
    assert await inbox.scope.count(OutboundMessage, {"conversation_id": inbox.oid("Li")}) == 5

    # delivery sent the five; then Li writes again: a new window with a new count
    await inbox.scope.find(OutboundMessage, {"conversation_id": inbox.oid("Li")}).update(
        {"$set": {"status": OutboundStatus.SENT.value, "sent_at": now - timedelta(minutes=30)}}
    )
    assert (await send(web, inbox, "Li", "5")).status_code == 422  # sent in this window: still five
    assert inbox.wechat.id is not None
    where = Where(inbox.scope.workspace_id, inbox.wechat.id, "wechat")
    await record(InboundMessage("wechat", "li-again", "li-1", Sender("li-1"), now, text="还有问题"), where, now)
    assert (await send(web, inbox, "Li", "6")).status_code == 201


async def test_two_replies_racing_for_the_last_message_do_not_both_get_through(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    for number in range(4):
        assert (await send(web, inbox, "Li", str(number))).status_code == 201
    first, second = await asyncio.gather(send(web, inbox, "Li", "a"), send(web, inbox, "Li", "b"))
    assert sorted([first.status_code, second.status_code]) == [201, 422]
    assert LIMIT in (first.json().get("code"), second.json().get("code"))
    going = {"conversation_id": inbox.oid("Li"), "status": {"$ne": OutboundStatus.CANCELLED.value}}
    assert await inbox.scope.count(OutboundMessage, going) == 5


async def test_telegram_has_no_message_count(web: httpx.AsyncClient, inbox: Inbox) -> None:
    for number in range(7):
        assert (await send(web, inbox, "Mia", str(number))).status_code == 201
    await signed_in(web, "admin")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers=HTML)
    assert page.status_code == 200 and chip(page) is None


async def test_the_chip_says_how_many_messages_are_left_in_both_languages(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    url = f"/inbox/{inbox.cid('Li')}"
    assert chip(await web.get(url, headers=HTML)) == "5 of 5 messages left"
    for number in range(2):
        assert (await send(web, inbox, "Li", str(number))).status_code == 201
    assert chip(await web.get(url, headers=HTML)) == "3 of 5 messages left"
    web.cookies.set("scrm_lang", "zh-CN")
    assert chip(await web.get(url, headers=HTML)) == "还可发送 3 条"
    for number in range(2, 5):
        assert (await send(web, inbox, "Li", str(number))).status_code == 201
    page = await web.get(url, headers=HTML)
    assert chip(page) == "已发送 5 条，需等联系人再次发消息后才能继续发送"
    assert "微信 48 小时窗口：剩余 47 小时" in page.text  # the 48 hours are still running


def test_wechat_and_wecom_count_five_and_other_platforms_nothing() -> None:
    assert [messaging_windows.message_limit(p) for p in ("wechat", "wecom", "telegram", "meta", "line", "x")] == [
        5,
        5,
        None,
        None,
        None,
        None,
    ]
    assert messaging_windows.limit_reason("wecom", 4) is None
    reason = messaging_windows.limit_reason("wecom", 5)
    assert reason is not None and "WeCom's 48-hour customer-service window" in reason
    assert messaging_windows.limit_reason("telegram", 50) is None

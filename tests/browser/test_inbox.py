"""In a real browser: an agent works a conversation that arrived through a signed Telegram webhook.

The web app (`scrm serve`) and the webhook ingress (`scrm webhooks`) run as real processes; the pipeline is
drained from the test as a worker drains it (tagging with the shipped models), and the outbox is delivered as the
worker's delivery loop delivers it, to a fake of Telegram's Bot API at the httpx transport that records what it
receives. Screenshots of the inbox in English and Chinese go to `$SCRM_SCREENSHOTS` (for instance
`SCRM_SCREENSHOTS=docs/screenshots`), else to the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from beanie import PydanticObjectId
from playwright.sync_api import Browser, Page, expect

from scrm.auth.accounts import add_member, create_user
from scrm.auth.roles import Principal
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.db import connect
from scrm.delivery import DeliveryContext, deliver_due
from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD
from scrm.inbox.teams import add_team_member, create_team
from scrm.models import (
    CannedResponse,
    Channel,
    Contact,
    Conversation,
    Message,
    Note,
    OutboundMessage,
    OutboundStatus,
    Role,
    TagCorrection,
    Team,
    Workspace,
)
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import load_tagger, pipeline_context
from tests.conftest import TEST_SECRET_KEY, free_port
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel, telegram_headers, telegram_update
from tests.processes import run_scrm, start_scrm, stop, wait_healthy

pytestmark = pytest.mark.browser
T = TypeVar("T")
PASSWORD = "agent password 123"
MIA_WRITES = "Hi! My order still has not arrived and nobody answers. This is really frustrating."
PAT_WRITES = "Thanks so much, the tea is wonderful!"
REPLY = "Sorry for the wait: it left this morning."
TELEGRAM_DESK, WECHAT_DESK = "Telegram desk", "WeChat desk"


@dataclass(frozen=True)
class Site:
    """The running processes' addresses, the environment they share, and the new Telegram channel."""

    url: str
    webhooks_url: str
    env: dict[str, str]
    channel_id: PydanticObjectId


@dataclass
class FakeTelegram:
    """Telegram's side of `sendMessage` for the channel's bot (Bot API, telegram.md c), at the httpx transport.

    Records the body of every message it accepts and answers with the Message it sent, in its envelope; a call
    to any other method or bot is answered 404 as the Bot API answers an unknown one.
    """

    sent: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = f"/bot{TELEGRAM_CREDENTIALS['bot_token']}/sendMessage"
        if request.url.host != "api.telegram.org" or request.url.path != path:
            return httpx.Response(404, json={"ok": False, "error_code": 404, "description": "Not Found"})
        body = json.loads(request.content)
        self.sent.append(body)
        chat = {"id": int(body["chat_id"]), "type": "private"}
        result = {"message_id": 5000 + len(self.sent), "chat": chat, "date": 1779270000, "text": body["text"]}
        return httpx.Response(200, json={"ok": True, "result": result})


def in_database(env: dict[str, str], work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` against the site's database from this test (in a thread: Playwright owns this one's loop)."""

    async def run() -> T:
        database = await connect(env["SCRM_MONGODB_URI"], env["SCRM_DATABASE"])
        try:
            return await work()
        finally:
            await database.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


async def _agent(
    workspace_id: PydanticObjectId, email: str, name: str, channels: list[PydanticObjectId]
) -> PydanticObjectId:
    """A new user who is an agent of the workspace on these channels; their id."""
    now = datetime.now(UTC)
    user = await create_user(email, PASSWORD, now, display_name=name)
    await add_member(workspace_id, user, Role.AGENT, now, actor="test", channel_ids=channels)
    assert user.id is not None
    return user.id


async def _desk(owner: Principal, name: str, channel: PydanticObjectId, member: PydanticObjectId) -> None:
    """A team handling `channel` with one member; no automatic assignment, so new conversations wait in its queue."""
    team = await create_team(owner, name, datetime.now(UTC), channel_ids=[channel])
    assert team.id is not None
    await add_team_member(owner, team.id, member)


async def _prepare() -> PydanticObjectId:
    """A Telegram bot channel in the demo workspace; Avery on it (and on the demo bot); Otto on WeChat only; Tess in
    the team that handles the new bot, Walt in the team that handles WeChat, neither with channels of their own."""
    demo = await Workspace.find_one({"name": "demo"})
    assert demo is not None and demo.id is not None
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace="demo")
    demo_bot = await Channel.find_one({"workspace_id": demo.id, "platform": "telegram", "_id": {"$ne": channel.id}})
    wechat = await Channel.find_one({"workspace_id": demo.id, "platform": "wechat"})
    assert demo_bot is not None and demo_bot.id is not None and wechat is not None and wechat.id is not None
    await _agent(demo.id, "agent@demo.example", "Avery Agent", [channel.id, demo_bot.id])
    await _agent(demo.id, "outsider@demo.example", "Otto Outsider", [wechat.id])
    tess = await _agent(demo.id, "tess@demo.example", "Tess Teammate", [])
    walt = await _agent(demo.id, "walt@demo.example", "Walt Wechat", [])
    owner = Principal(demo.id, Role.OWNER, "test")
    await _desk(owner, TELEGRAM_DESK, channel.id, tess)
    await _desk(owner, WECHAT_DESK, wechat.id, walt)
    return channel.id


@pytest.fixture
def site(mongo_uri: str, database_name: str, tmp_path: Path) -> Iterator[Site]:
    """The demo workspace served by `scrm serve`, with `scrm webhooks` taking platform deliveries."""
    port, hooks = free_port(), free_port()
    env = {
        "SCRM_MONGODB_URI": mongo_uri,
        "SCRM_DATABASE": database_name,
        "SCRM_HOME": str(tmp_path / "home"),
        "SCRM_PORT": str(port),
        "SCRM_WEBHOOKS_PORT": str(hooks),
        "SCRM_SECRET_KEY": TEST_SECRET_KEY,
    }
    loaded = run_scrm(["demo", "load"], env)
    assert loaded.returncode == 0, loaded.stderr
    channel_id = in_database(env, _prepare)
    web = start_scrm(["serve"], env, tmp_path / "serve.log")
    ingress = start_scrm(["webhooks"], env, tmp_path / "webhooks.log")
    try:
        url, hooks_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hooks}"
        wait_healthy(url, web, tmp_path / "serve.log")
        wait_healthy(hooks_url, ingress, tmp_path / "webhooks.log")
        yield Site(url, hooks_url, env, channel_id)
    finally:
        stop(web)
        stop(ingress)


def telegram_update_from(update_id: int, text: str, user_id: int, first_name: str) -> bytes:
    """A Telegram Update with one private text message from someone else than Mia."""
    update = json.loads(telegram_update(update_id, text, user_id))
    for who in (update["message"]["from"], update["message"]["chat"]):
        who["first_name"], who["username"] = first_name, first_name.lower()
    return json.dumps(update).encode()


def arrive(site: Site, *updates: bytes) -> None:
    """Telegram delivers each update to the ingress, signed with the channel's secret token."""
    url = f"{site.webhooks_url}/webhooks/telegram/{site.channel_id}"
    for body in updates:
        assert httpx.post(url, content=body, headers=telegram_headers()).status_code == 200


def drain(site: Site) -> None:
    """Run the pipeline over every stored delivery, as the worker does: tagged by the shipped models."""
    settings = Settings.from_env(site.env)

    async def work() -> None:
        context = pipeline_context(settings, lambda: datetime.now(UTC), tagger=await load_tagger())
        while await drain_raw_events(context):
            pass

    in_database(site.env, work)


def deliver(site: Site, telegram: FakeTelegram) -> int:
    """One round of the worker's delivery loop, its HTTP client answered by the fake Telegram; rows claimed."""
    settings = Settings.from_env(site.env)

    async def work() -> int:
        pipeline = pipeline_context(settings, lambda: datetime.now(UTC))
        async with httpx.AsyncClient(transport=httpx.MockTransport(telegram)) as http:
            buckets = ChannelBuckets(SystemClock())
            context = DeliveryContext(pipeline.channels, pipeline.tokens, http, buckets, pipeline.now)
            return await deliver_due(context, pipeline.now())

    return in_database(site.env, work)


def log_in(page: Page, url: str, email: str, password: str, next_page: str = "/inbox") -> None:
    """Log in through the login page."""
    page.goto(f"{url}/login?next={next_page}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.auth-form button[type=submit]")


def find_mia_by_channel_and_sentiment(page: Page, site: Site) -> str:
    """In the list: the agent's channels only; filter by the new bot, then by negative sentiment (Pat, who is
    happy, drops out); open Mia's conversation; its id."""
    expect(page.locator("h1")).to_have_text("Inbox")
    rows = page.locator("#conversation-list .conv")
    expect(rows.filter(has_text="Mia")).to_have_count(1)
    expect(rows.filter(has_text="Alice Chen")).to_have_count(1)  # the demo bot is the agent's too
    expect(rows.filter(has_text="王小明")).to_have_count(0)  # WeChat is not
    page.select_option("#filter-channel", str(site.channel_id))
    expect(page).to_have_url(re.compile(rf"channel={site.channel_id}"))
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Pat")).to_have_count(1)
    page.select_option("#filter-sentiment", "negative")
    expect(page).to_have_url(re.compile(r"sentiment=negative"))
    expect(page).to_have_url(re.compile(rf"channel={site.channel_id}"))  # the channel filter is kept
    expect(rows).to_have_count(1)
    expect(rows.filter(has_text="Mia")).to_have_count(1)
    rows.filter(has_text="Mia").locator("a").click()
    expect(page.locator("#conversation-heading")).to_have_text("Mia")
    expect(page.locator("#thread")).to_contain_text("nobody answers")
    expect(page.locator("#thread .msg [data-sentiment]")).to_have_attribute("data-sentiment", "negative")
    expect(page.locator("#reply-window")).to_have_attribute("data-window", "open")
    conversation_id = page.locator("[data-conversation-view]").get_attribute("data-conversation-view")
    assert conversation_id is not None
    return conversation_id


def reply_twice(page: Page, site: Site, conversation_id: str) -> None:
    """Send a reply, then the very same form again: one outbox row."""
    page.fill("#reply-text", REPLY)
    form: dict[str, str | float | bool] = {
        name: page.locator(f"#reply-form [name={name}]").input_value()
        for name in ("csrf_token", "idempotency_key", "filters", "text")
    }
    page.click("#reply-send")
    expect(page.locator("#thread .msg.outbound")).to_contain_text(REPLY)
    expect(page.locator("#thread .msg.outbound [data-delivery]")).to_have_attribute("data-delivery", "queued")
    again = page.request.post(f"{site.url}/inbox/{conversation_id}/reply", form=form, max_redirects=0)
    assert again.status == 303  # a second submission of the same form is accepted, and sends nothing more
    oid = PydanticObjectId(conversation_id)
    rows = in_database(site.env, lambda: OutboundMessage.find({"conversation_id": oid}).to_list())
    assert [r.payload["text"] for r in rows] == [REPLY]


def telegram_receives_it_once(page: Page, site: Site, conversation_id: str) -> None:
    """The outbox is delivered, and delivered again: Telegram receives exactly one message, to Mia's chat; the
    outbox row is sent with the message's id, and the thread says so."""
    telegram = FakeTelegram()
    assert deliver(site, telegram) == 1
    assert deliver(site, telegram) == 0  # nothing left to claim
    assert telegram.sent == [{"chat_id": "777", "text": REPLY}]
    oid = PydanticObjectId(conversation_id)
    rows = in_database(site.env, lambda: OutboundMessage.find({"conversation_id": oid}).to_list())
    assert [(r.status, r.attempts, r.external_id) for r in rows] == [(OutboundStatus.SENT, 1, "777:5001")]
    page.reload()
    expect(page.locator("#thread .msg.outbound [data-delivery]")).to_have_attribute("data-delivery", "sent")


def note_label_and_assign(page: Page) -> None:
    """Work the open conversation: a note, a label, assign to me."""
    page.click(".note-composer summary")
    page.fill("#note-text", "Tracking number sent by email too.")
    page.click("#note-add")
    expect(page.locator("#thread .msg.note")).to_contain_text("Tracking number sent by email too.")
    page.fill("#label-new", "shipping")
    page.click("#label-add")
    expect(page.locator(".label-list [data-label=shipping]")).to_be_visible()
    page.click("#assign-me")
    expect(page.locator("[data-assignee]")).to_have_text("Avery Agent")


def correct_the_intent(page: Page) -> None:
    """Mia's message was read as a complaint; the agent says it is a support request, from the thread."""
    message = page.locator("#thread .msg.inbound").filter(has_text="nobody answers")
    message.locator(".tag-fix summary").click()
    message.locator(".tag-fix select[name=intent]").select_option("support_request")
    # a live event re-renders the thread meanwhile: the open form and its choice stay
    page.evaluate("() => htmx.ajax('GET', document.querySelector('#thread').getAttribute('hx-get'), "
                  "{target: '#thread', swap: 'innerHTML'})")  # fmt: skip
    expect(message.locator(".tag-fix")).to_have_attribute("open", "")
    expect(message.locator(".tag-fix select[name=intent]")).to_have_value("support_request")
    message.locator(".tag-fix button[type=submit]").click()
    message = page.locator("#thread .msg.inbound").filter(has_text="nobody answers")
    expect(message.locator("[data-intent]")).to_have_attribute("data-intent", "support_request")
    expect(message.locator("[data-corrected]")).to_have_attribute("data-corrected", "intent")


def snooze_for_an_hour(page: Page, site: Site, conversation_id: str) -> None:
    """Snooze for 1 hour: the conversation says until when, leaves the open list and waits under Snoozed."""
    before = datetime.now(UTC)
    page.select_option("#snooze-for", "1h")
    page.click("#snooze")
    expect(page.locator("[data-conversation-status]")).to_have_attribute("data-conversation-status", "snoozed")
    expect(page.locator(".conv-title")).to_contain_text("until")
    after = datetime.now(UTC)
    stored = in_database(site.env, lambda: Conversation.get(PydanticObjectId(conversation_id)))
    assert stored is not None and stored.snoozed_until is not None
    until = stored.snoozed_until.replace(tzinfo=UTC) if stored.snoozed_until.tzinfo is None else stored.snoozed_until
    assert before + timedelta(hours=1) - timedelta(seconds=1) <= until <= after + timedelta(hours=1)
    rows = page.locator("#conversation-list .conv")
    expect(page.locator("[data-status-tab=open]")).to_have_attribute("aria-current", "page")
    expect(rows.filter(has_text="Mia")).to_have_count(0)  # no longer in the open list (same filters)
    page.click("[data-status-tab=snoozed]")
    expect(page).to_have_url(re.compile(r"status=snoozed"))
    expect(rows.filter(has_text="Mia")).to_have_count(1)
    rows.filter(has_text="Mia").locator("a").click()
    expect(page.locator("[data-conversation-status]")).to_have_attribute("data-conversation-status", "snoozed")


def resolve_with_the_shortcut(page: Page) -> None:
    """Resolve with the `e` shortcut, which works from anywhere but a text field."""
    expect(page.locator("#shortcut-hint")).to_be_visible()
    page.locator("#thread").click()
    page.keyboard.press("e")
    expect(page.locator("[data-conversation-status]")).to_have_attribute("data-conversation-status", "resolved")


def sees_it(browser: Browser, site: Site, email: str, conversation_id: str) -> None:
    """Someone who may: finds it in the list of every status, and opens it."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, site.url, email, PASSWORD)
    expect(page.locator("h1")).to_have_text("Inbox")
    page.goto(f"{site.url}/inbox?status=all")
    row = page.locator("#conversation-list .conv").filter(has_text="Mia")
    expect(row).to_have_count(1)
    row.locator("a").click()
    expect(page.locator("[data-conversation-view]")).to_have_attribute("data-conversation-view", conversation_id)
    expect(page.locator("#thread")).to_contain_text(REPLY)
    context.close()


def is_kept_from_it(browser: Browser, site: Site, email: str, conversation_id: str) -> None:
    """Someone who may not: 404 at its address, and not in the list of any status."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, site.url, email, PASSWORD)
    expect(page.locator("h1")).to_have_text("Inbox")
    response = page.goto(f"{site.url}/inbox/{conversation_id}")
    assert response is not None and response.status == 404
    page.goto(f"{site.url}/inbox?status=all")
    expect(page.locator("#conversation-list")).to_be_visible()
    expect(page.locator("#conversation-list .conv").filter(has_text="Mia")).to_have_count(0)
    context.close()


def test_an_agent_works_a_conversation_from_a_telegram_webhook(browser: Browser, site: Site) -> None:
    arrive(site, telegram_update(9001, MIA_WRITES), telegram_update_from(9002, PAT_WRITES, 778, "Pat"))
    drain(site)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, site.url, "agent@demo.example", PASSWORD)
    conversation_id = find_mia_by_channel_and_sentiment(page, site)
    reply_twice(page, site, conversation_id)
    telegram_receives_it_once(page, site, conversation_id)
    note_label_and_assign(page)
    correct_the_intent(page)
    snooze_for_an_hour(page, site, conversation_id)
    resolve_with_the_shortcut(page)
    context.close()
    stored = in_database(site.env, lambda: Conversation.get(PydanticObjectId(conversation_id)))
    assert stored is not None and stored.status.value == "resolved" and stored.labels == ["shipping"]
    assert stored.snoozed_until is None
    notes = in_database(site.env, lambda: Note.find({"conversation_id": stored.id}).to_list())
    assert [n.text for n in notes] == ["Tracking number sent by email too."]
    fixes = in_database(site.env, lambda: TagCorrection.find({"task": "intent"}).to_list())
    assert [(f.text, f.label) for f in fixes] == [(MIA_WRITES, "support_request")]

    desk = in_database(site.env, lambda: Team.find_one({"name": TELEGRAM_DESK}))
    assert desk is not None and stored.team_id == desk.id  # routed to the team that handles the bot
    sees_it(browser, site, "tess@demo.example", conversation_id)  # a member of that team, without the channel
    is_kept_from_it(browser, site, "walt@demo.example", conversation_id)  # an agent of another team
    is_kept_from_it(browser, site, "outsider@demo.example", conversation_id)  # an agent of another channel


async def _tag_demo_messages() -> str:
    """Tag the demo's inbound messages with the shipped models (as the worker would), label and annotate Alice's
    conversation; returns its id."""
    from scrm.nlp import Tagger

    tagger = await asyncio.to_thread(Tagger.load)
    messages = await Message.find({"direction": "inbound"}).to_list()
    for message, tags in zip(messages, tagger.tag_many([m.text for m in messages]), strict=True):
        await Message.find({"_id": message.id}).update({"$set": {"tags": tags.to_dict()}})
    contact = await Contact.find_one({"name": "Alice Chen"})
    assert contact is not None
    alice = await Conversation.find_one({"contact_id": contact.id, "platform": "telegram"})
    assert alice is not None
    await Conversation.find({"_id": alice.id}).update({"$set": {"labels": ["vip", "shipping"]}})
    if await Note.find({"conversation_id": alice.id}).count() == 0:
        note = "Regular customer: offer free shipping on 1 kg bags."
        await Note(
            workspace_id=alice.workspace_id,
            conversation_id=alice.id,
            channel_id=alice.channel_id,
            author="demo",
            author_name="Demo Owner",
            text=note,
        ).insert()
    if await CannedResponse.find({"workspace_id": alice.workspace_id}).count() == 0:
        text = "We ship across the US in 2-4 days; shipping is free from 1 kg."
        await CannedResponse(workspace_id=alice.workspace_id, name="shipping", text=text).insert()
    return str(alice.id)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_screenshots_of_the_inbox(browser: Browser, site: Site, language: str, tmp_path: Path) -> None:
    alice = in_database(site.env, _tag_demo_messages)
    folder = Path(os.environ.get("SCRM_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language)
    page = context.new_page()
    log_in(page, site.url, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD)
    page.goto(f"{site.url}/lang/{language}?next=/inbox%3Fstatus%3Dall")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text("Inbox" if language == "en" else "收件箱")
    page.screenshot(path=str(folder / f"inbox-list-{language}.png"))
    page.goto(f"{site.url}/inbox/{alice}?status=all")
    expect(page.locator("#thread [data-sentiment]").first).to_be_visible()
    page.screenshot(path=str(folder / f"inbox-conversation-{language}.png"))
    fix = page.locator("#thread .msg.inbound .tag-fix").last
    fix.locator("summary").click()
    expect(fix.locator("select[name=intent]")).to_be_visible()
    page.screenshot(path=str(folder / f"inbox-correction-{language}.png"))
    wang = page.locator("#conversation-list .conv").filter(has_text="王小明").locator("a.conv-link")
    wang.click()
    expect(page.locator("#reply-window")).to_have_attribute("data-window", "open")
    page.screenshot(path=str(folder / f"inbox-wechat-window-{language}.png"))
    page.goto(f"{site.url}/inbox/{alice}?status=all")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator(".inbox-list-pane")).to_be_hidden()
    page.screenshot(path=str(folder / f"inbox-conversation-phone-{language}.png"), full_page=True)
    context.close()

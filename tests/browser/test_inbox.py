"""In a real browser: an agent works a conversation that arrived through a signed Telegram webhook.

The web app (`scrm serve`) and the webhook ingress (`scrm webhooks`) run as real processes; the pipeline is
drained from the test, as a worker would. Screenshots of the inbox in English and Chinese go to
`$SCRM_SCREENSHOTS` (for instance `SCRM_SCREENSHOTS=docs/screenshots`), else to the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from beanie import PydanticObjectId
from playwright.sync_api import Browser, Page, expect

from scrm.auth.accounts import add_member, create_user
from scrm.db import connect
from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD
from scrm.models import CannedResponse, Channel, Contact, Conversation, Message, Note, OutboundMessage, Role, Workspace
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context
from tests.conftest import TEST_SECRET_KEY, free_port
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel, telegram_headers, telegram_update
from tests.processes import run_scrm, start_scrm, stop, wait_healthy

pytestmark = pytest.mark.browser
T = TypeVar("T")
PASSWORD = "agent password 123"


@dataclass(frozen=True)
class Site:
    """The running processes' addresses, the environment they share, and the new Telegram channel."""

    url: str
    webhooks_url: str
    env: dict[str, str]
    channel_id: PydanticObjectId


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


async def _prepare() -> PydanticObjectId:
    """A Telegram bot channel in the demo workspace, an agent on it (and on the demo bot), an agent elsewhere."""
    demo = await Workspace.find_one({"name": "demo"})
    assert demo is not None and demo.id is not None
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace="demo")
    demo_bot = await Channel.find_one({"workspace_id": demo.id, "platform": "telegram", "_id": {"$ne": channel.id}})
    wechat = await Channel.find_one({"workspace_id": demo.id, "platform": "wechat"})
    assert demo_bot is not None and demo_bot.id is not None and wechat is not None and wechat.id is not None
    now = datetime.now(UTC)
    agent = await create_user("agent@demo.example", PASSWORD, now, display_name="Ada Agent")
    await add_member(demo.id, agent, Role.AGENT, now, actor="test", channel_ids=[channel.id, demo_bot.id])
    outsider = await create_user("outsider@demo.example", PASSWORD, now, display_name="Otto Outsider")
    await add_member(demo.id, outsider, Role.AGENT, now, actor="test", channel_ids=[wechat.id])
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


def drain(site: Site) -> None:
    """Run the pipeline over every stored delivery, as the worker does."""
    settings = Settings.from_env(site.env)

    async def work() -> None:
        context = pipeline_context(settings, lambda: datetime.now(UTC))
        while await drain_raw_events(context):
            pass

    in_database(site.env, work)


def log_in(page: Page, url: str, email: str, password: str, next_page: str = "/inbox") -> None:
    """Log in through the login page."""
    page.goto(f"{url}/login?next={next_page}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.auth-form button[type=submit]")


def find_mia_by_channel(page: Page, site: Site) -> str:
    """In the list: the agent's channels only; filter by the new bot and open Mia's conversation; its id."""
    expect(page.locator("h1")).to_have_text("Inbox")
    rows = page.locator("#conversation-list .conv")
    expect(rows.filter(has_text="Mia")).to_have_count(1)
    expect(rows.filter(has_text="Alice Chen")).to_have_count(1)  # the demo bot is the agent's too
    expect(rows.filter(has_text="王小明")).to_have_count(0)  # WeChat is not
    page.select_option("#filter-channel", str(site.channel_id))
    expect(page).to_have_url(re.compile(rf"channel={site.channel_id}"))
    expect(rows).to_have_count(1)
    rows.filter(has_text="Mia").locator("a").click()
    expect(page.locator("#conversation-heading")).to_have_text("Mia")
    expect(page.locator("#thread")).to_contain_text("Did my order ship yet?")
    expect(page.locator("#reply-window")).to_have_attribute("data-window", "open")
    conversation_id = page.locator("[data-conversation-view]").get_attribute("data-conversation-view")
    assert conversation_id is not None
    return conversation_id


def reply_twice(page: Page, site: Site, conversation_id: str) -> None:
    """Send a reply, then the very same form again: one outbox row."""
    page.fill("#reply-text", "Yes, it left this morning.")
    form: dict[str, str | float | bool] = {
        name: page.locator(f"#reply-form [name={name}]").input_value()
        for name in ("csrf_token", "idempotency_key", "filters", "text")
    }
    page.click("#reply-send")
    expect(page.locator("#thread .msg.outbound")).to_contain_text("Yes, it left this morning.")
    expect(page.locator("#thread .msg.outbound [data-delivery]")).to_have_attribute("data-delivery", "queued")
    again = page.request.post(f"{site.url}/inbox/{conversation_id}/reply", form=form, max_redirects=0)
    assert again.status == 303  # a second submission of the same form is accepted, and sends nothing more
    oid = PydanticObjectId(conversation_id)
    rows = in_database(site.env, lambda: OutboundMessage.find({"conversation_id": oid}).to_list())
    assert [r.payload["text"] for r in rows] == ["Yes, it left this morning."]


def note_label_assign_and_resolve(page: Page) -> None:
    """Work the open conversation: a note, a label, assign to me, then resolve with the `e` shortcut."""
    page.click(".note-composer summary")
    page.fill("#note-text", "Tracking number sent by email too.")
    page.click("#note-add")
    expect(page.locator("#thread .msg.note")).to_contain_text("Tracking number sent by email too.")
    page.fill("#label-new", "shipping")
    page.click("#label-add")
    expect(page.locator(".label-list [data-label=shipping]")).to_be_visible()
    page.click("#assign-me")
    expect(page.locator("[data-assignee]")).to_have_text("Ada Agent")
    expect(page.locator("#shortcut-hint")).to_be_visible()
    page.locator("#thread").click()  # the shortcut works from anywhere but a text field
    page.keyboard.press("e")
    expect(page.locator("[data-conversation-status]")).to_have_attribute("data-conversation-status", "resolved")


def test_an_agent_works_a_conversation_from_a_telegram_webhook(browser: Browser, site: Site) -> None:
    body = telegram_update(9001, "Hi! Did my order ship yet?")
    url = f"{site.webhooks_url}/webhooks/telegram/{site.channel_id}"
    assert httpx.post(url, content=body, headers=telegram_headers()).status_code == 200
    drain(site)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, site.url, "agent@demo.example", PASSWORD)
    conversation_id = find_mia_by_channel(page, site)
    reply_twice(page, site, conversation_id)
    note_label_assign_and_resolve(page)
    context.close()
    stored = in_database(site.env, lambda: Conversation.get(PydanticObjectId(conversation_id)))
    assert stored is not None and stored.status.value == "resolved" and stored.labels == ["shipping"]
    notes = in_database(site.env, lambda: Note.find({"conversation_id": stored.id}).to_list())
    assert [n.text for n in notes] == ["Tracking number sent by email too."]

    outsider = browser.new_context(viewport={"width": 1280, "height": 800})
    other = outsider.new_page()
    log_in(other, site.url, "outsider@demo.example", PASSWORD)
    expect(other.locator("h1")).to_have_text("Inbox")
    response = other.goto(f"{site.url}/inbox/{conversation_id}")
    assert response is not None and response.status == 404
    other.goto(f"{site.url}/inbox?status=all")
    expect(other.locator("#conversation-list .conv").filter(has_text="Mia")).to_have_count(0)
    outsider.close()


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

"""In a real browser: two agents open the same conversation and each sees the other, typing included.

`scrm serve` runs as a real process with the demo workspace; each agent has a browser context of their own
(their own cookies), and the indicator refreshes itself by htmx polling, as it does for people. A screenshot
of the second agent's view goes to `$SCRM_SCREENSHOTS`, else to the test's temporary folder.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from scrm.auth.accounts import add_member, create_user
from scrm.models import Conversation, Role, Workspace
from tests.browser.test_inbox import in_database, log_in

pytestmark = pytest.mark.browser
PASSWORD = "agent password 123"
POLLED = 15_000
"""Milliseconds to wait for the indicator: several polls (every 3 s), for a busy machine."""


async def _two_agents() -> str:
    """Two agents on the channel of a demo Telegram conversation; returns the conversation's id."""
    demo = await Workspace.find_one({"name": "demo"})
    assert demo is not None and demo.id is not None
    conversation = await Conversation.find_one({"workspace_id": demo.id, "platform": "telegram"})
    assert conversation is not None
    now = datetime.now(UTC)
    for email, name in (("ada@demo.example", "Ada Agent"), ("bo@demo.example", "Bo Agent")):
        user = await create_user(email, PASSWORD, now, display_name=name)
        await add_member(demo.id, user, Role.AGENT, now, actor="test", channel_ids=[conversation.channel_id])
    return str(conversation.id)


def open_as(browser: Browser, url: str, email: str, conversation_id: str) -> tuple[BrowserContext, Page]:
    """A browser context of its own, logged in as `email`, with the conversation open."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, url, email, PASSWORD)
    expect(page.locator("h1")).to_have_text("Inbox")
    page.goto(f"{url}/inbox/{conversation_id}")
    expect(page.locator("[data-conversation-view]")).to_have_attribute("data-conversation-view", conversation_id)
    return context, page


def test_a_second_agent_sees_the_first_viewing_then_typing(
    browser: Browser, live_server: str, mongo_uri: str, database_name: str, tmp_path: Path
) -> None:
    env = {"SCRM_MONGODB_URI": mongo_uri, "SCRM_DATABASE": database_name}  # the live server's database
    conversation_id = in_database(env, _two_agents)
    ada_context, ada = open_as(browser, live_server, "ada@demo.example", conversation_id)
    bo_context, bo = open_as(browser, live_server, "bo@demo.example", conversation_id)
    try:
        ada_in_bo = bo.locator('#presence [data-present="Ada Agent"]')
        expect(ada_in_bo).to_have_attribute("data-state", "viewing", timeout=POLLED)
        expect(bo.locator('#presence [data-present="Bo Agent"]')).to_have_count(0)  # never myself
        expect(ada.locator('#presence [data-present="Bo Agent"]')).to_be_visible(timeout=POLLED)

        ada.locator("#reply-text").press_sequentially("Let me check that for you", delay=50)
        expect(ada_in_bo).to_have_attribute("data-state", "typing", timeout=POLLED)
        expect(ada_in_bo).to_contain_text("Ada Agent is typing")
        bo.screenshot(path=str(Path(os.environ.get("SCRM_SCREENSHOTS") or tmp_path) / "inbox-collision-en.png"))
    finally:
        ada_context.close()
        bo_context.close()

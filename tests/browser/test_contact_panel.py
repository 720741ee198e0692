"""In a real browser: the contact panel's edit form saves in place (htmx), and its activity loads on sight.

`scrm serve` runs as a real process with the demo workspace; an agent edits the contact of a demo Telegram
conversation and the panel is swapped in place without leaving the page.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect

from scrm.auth.accounts import add_member, create_user
from scrm.models import Contact, Conversation, Role, Workspace
from tests.browser.test_inbox import in_database, log_in

pytestmark = pytest.mark.browser
PASSWORD = "agent password 123"


async def _an_agent() -> str:
    """An agent on the channel of a demo Telegram conversation; returns the conversation's id."""
    demo = await Workspace.find_one({"name": "demo"})
    assert demo is not None and demo.id is not None
    conversation = await Conversation.find_one({"workspace_id": demo.id, "platform": "telegram"})
    assert conversation is not None
    user = await create_user("cy@demo.example", PASSWORD, datetime.now(UTC), display_name="Cy Agent")
    await add_member(demo.id, user, Role.AGENT, datetime.now(UTC), actor="test", channel_ids=[conversation.channel_id])
    return str(conversation.id)


def test_an_agent_edits_the_contact_in_place(
    browser: Browser, live_server: str, mongo_uri: str, database_name: str
) -> None:
    env = {"SCRM_MONGODB_URI": mongo_uri, "SCRM_DATABASE": database_name}  # the live server's database
    conversation_id = in_database(env, _an_agent)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        log_in(page, live_server, "cy@demo.example", PASSWORD)
        expect(page.locator("h1")).to_have_text("Inbox")
        page.goto(f"{live_server}/inbox/{conversation_id}")
        page.locator("#contact-edit-open").click()
        page.fill("#contact-timezone", "Asia/Shanghai")
        page.fill("#contact-tags", "vip, beans")
        page.locator("#contact-save").click()
        expect(page.locator("#contact-card [data-saved]")).to_be_visible()
        expect(page.locator('#contact-card [data-field="timezone"]')).to_have_text("Asia/Shanghai")
        assert page.url.endswith(f"/inbox/{conversation_id}")  # swapped in place, no navigation
        page.locator("#contact-timeline").scroll_into_view_if_needed()
        expect(page.locator("#contact-timeline [data-timeline]").first).to_be_visible()
    finally:
        context.close()

    async def stored() -> Contact | None:
        conversation = await Conversation.get(conversation_id)
        assert conversation is not None
        return await Contact.get(conversation.contact_id)

    contact = in_database(env, stored)
    assert contact is not None and contact.timezone == "Asia/Shanghai" and contact.tags == ["vip", "beans"]

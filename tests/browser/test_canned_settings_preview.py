"""In a real browser: the canned responses page previews the variables as one types (htmx, rendered by the
server), and saves the reply for the workspace."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD

pytestmark = pytest.mark.browser


def test_typing_a_canned_response_previews_it_and_saving_lists_it(page: Page, live_server: str) -> None:
    page.goto(live_server + "/login?next=/inbox/settings/canned")
    page.fill("#email", DEMO_OWNER_EMAIL)
    page.fill("#password", DEMO_OWNER_PASSWORD)
    page.click("form.auth-form button[type=submit]")
    expect(page.locator("#canned-form")).to_be_visible()

    page.fill("#canned-name", "greet")
    page.fill("#canned-text", "Hello {contact.first_name}, {nope}")
    expect(page.locator("#canned-preview-text")).to_have_text("Hello Mia, {nope}")
    expect(page.locator("#canned-preview-unknown")).to_contain_text("{nope}")
    page.fill("#canned-text", "Hello {contact.first_name}!")
    expect(page.locator("#canned-preview-text")).to_have_text("Hello Mia!")
    expect(page.locator("#canned-preview-unknown")).to_have_count(0)

    page.select_option("#canned-scope", "workspace")
    page.click("#canned-save")
    expect(page).to_have_url(re.compile(r"/inbox/settings/canned\?saved=created$"))
    expect(page.locator("#canned-list tr[data-name=greet]")).to_contain_text("Hello {contact.first_name}!")

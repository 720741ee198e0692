"""In a real browser: the overview opens in English and the language switch turns it into Chinese."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page: Page, live_server: str) -> None:
    """Sign in as the demo owner through the login page."""
    page.goto(live_server + "/login")
    page.fill("#email", DEMO_OWNER_EMAIL)
    page.fill("#password", DEMO_OWNER_PASSWORD)
    page.click("form.auth-form button[type=submit]")


def test_switching_the_language_to_chinese_and_back(page: Page, live_server: str) -> None:
    sign_in(page, live_server)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text("Alice Chen")).to_be_visible()

    page.click("a[data-lang='zh-CN']")
    expect(page.locator("h1")).to_have_text("概览")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="最近的会话")).to_be_visible()

    page.reload()
    expect(page.locator("h1")).to_have_text("概览")  # the choice is remembered

    page.click("a[data-lang='en']")
    expect(page.locator("h1")).to_have_text("Overview")


def test_htmx_is_served_from_the_npm_package(page: Page, live_server: str) -> None:
    sign_in(page, live_server)
    assert page.evaluate("typeof window.htmx") == "object"

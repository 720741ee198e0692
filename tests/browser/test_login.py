"""In a real browser: logging in through the login page, with and without two-factor login, and out again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from scrm.auth.totp import code_at
from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD

pytestmark = pytest.mark.browser


def log_in(page: Page) -> None:
    """Fill in and send the login form."""
    page.fill("#email", DEMO_OWNER_EMAIL)
    page.fill("#password", DEMO_OWNER_PASSWORD)
    page.click("form.auth-form button[type=submit]")


def test_logging_in_and_out_through_the_login_page(page: Page, live_server: str) -> None:
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.locator("h1")).to_have_text("Log in")

    page.fill("#email", DEMO_OWNER_EMAIL)
    page.fill("#password", "not the password")
    page.click("form.auth-form button[type=submit]")
    expect(page.locator(".form-error")).to_have_text("Wrong email or password.")

    log_in(page)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.get_by_text("Alice Chen")).to_be_visible()

    page.click(".session button")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(live_server + "/account")
    expect(page).to_have_url(re.compile(r"/login\?next=/account$"))


def test_logging_in_with_two_factor(page: Page, live_server: str) -> None:
    page.goto(live_server + "/login?next=/account")
    log_in(page)
    expect(page.locator("h1")).to_have_text("Account")
    page.click("#two-factor button[type=submit]")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.fill("#totp-code", code_at(secret, datetime.now(UTC)))
    page.click("#two-factor form.auth-form button[type=submit]")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    expect(page.locator("[data-totp=on]")).to_be_visible()
    page.click(".session button")

    page.goto(live_server + "/")
    log_in(page)
    expect(page.locator("h1")).to_have_text("Two-factor login")
    page.goto(live_server + "/")
    expect(page.locator("h1")).to_have_text("Two-factor login")  # no page opens before the code
    # The next time step's code: the current one was just used to turn two-factor login on.
    page.fill("#code", code_at(secret, datetime.now(UTC) + timedelta(seconds=30)))
    page.click("form.auth-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")

    page.click(".session button")
    expect(page.locator("h1")).to_have_text("Log in")

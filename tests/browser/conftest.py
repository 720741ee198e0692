"""Browser tests: Python Playwright driving Debian's chromium (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import TEST_SECRET_KEY, free_port
from tests.processes import run_scrm, start_scrm, stop, wait_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium per test module.

    Playwright's sync API keeps an event loop of its own running while it is open; closed at the end of each
    module, it never overlaps the asyncio tests of other modules.
    """
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def live_server(mongo_uri: str, database_name: str, tmp_path: Path) -> Iterator[str]:
    """`scrm serve` as a real process on a free port, with the demo workspace loaded; yields its URL."""
    port = free_port()
    env = {
        "SCRM_MONGODB_URI": mongo_uri,
        "SCRM_DATABASE": database_name,
        "SCRM_HOME": str(tmp_path / "home"),
        "SCRM_PORT": str(port),
        "SCRM_SECRET_KEY": TEST_SECRET_KEY,
    }
    loaded = run_scrm(["demo", "load"], env)
    assert loaded.returncode == 0, loaded.stderr
    process = start_scrm(["serve"], env, tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, tmp_path / "serve.log")
        yield url
    finally:
        stop(process)

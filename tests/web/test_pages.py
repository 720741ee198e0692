"""The UI shell: the overview in English and Chinese, the language switch, readable error pages."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx

from scrm.auth.accounts import create_user
from scrm.db import Database
from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, load_demo
from scrm.models.sealed import SecretBox
from scrm.web import i18n
from tests.auth.forms import log_in
from tests.conftest import TEST_SECRET_KEY

HTML = {"accept": "text/html"}


async def signed_in_demo_owner(client: httpx.AsyncClient, now: datetime) -> None:
    """Load the demo workspace and sign in as its owner."""
    await load_demo(now, SecretBox.from_secret_key(TEST_SECRET_KEY))
    answer = await log_in(client, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD)
    assert answer.status_code in (200, 302, 303), answer.text


async def test_overview_shows_the_demo_workspace(client: httpx.AsyncClient, database: Database, now: datetime) -> None:
    await signed_in_demo_owner(client, now)
    page = await client.get("/", headers=HTML)
    assert page.status_code == 200
    assert "Demo Coffee Co." in page.text
    assert 'data-count="messages"><span class="value">17<' in page.text
    assert "王小明" in page.text and "Alice Chen" in page.text
    assert '<script src="/static/vendor/htmx/htmx.min.js"' in page.text


async def test_overview_requires_signing_in(client: httpx.AsyncClient, database: Database) -> None:
    page = await client.get("/", headers=HTML, follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")


async def test_a_user_without_a_workspace_sees_none_of_anothers_data(
    client: httpx.AsyncClient, database: Database, now: datetime
) -> None:
    await load_demo(now, SecretBox.from_secret_key(TEST_SECRET_KEY))
    await create_user("stranger@example.com", "a-long-enough-password", now)
    await log_in(client, "stranger@example.com", "a-long-enough-password")
    page = await client.get("/", headers=HTML)
    assert page.status_code == 200
    assert "scrm demo load" in page.text
    assert "Demo Coffee Co." not in page.text and "Alice Chen" not in page.text


async def test_the_language_switch_remembers_chinese(
    client: httpx.AsyncClient, database: Database, now: datetime
) -> None:
    await signed_in_demo_owner(client, now)
    switch = await client.get("/lang/zh-CN", params={"next": "/"}, follow_redirects=False)
    assert switch.status_code in (302, 303, 307)
    assert switch.headers["location"] == "/"
    assert "scrm_lang=zh-CN" in switch.headers["set-cookie"]
    client.cookies.set("scrm_lang", "zh-CN")
    page = await client.get("/", headers=HTML)
    assert '<html lang="zh-CN">' in page.text
    assert "<h1>概览</h1>" in page.text
    assert "最近的会话" in page.text


async def test_the_browser_language_is_the_default(client: httpx.AsyncClient, database: Database) -> None:
    page = await client.get("/login", headers={**HTML, "accept-language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in page.text


async def test_the_language_switch_never_redirects_off_site(client: httpx.AsyncClient) -> None:
    switch = await client.get("/lang/en", params={"next": "//evil.example/"}, follow_redirects=False)
    assert switch.headers["location"] == "/"


async def test_an_unknown_language_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/xx")
    assert response.status_code == 404
    assert "en, zh-CN" in response.json()["detail"]


async def test_a_missing_page_is_a_readable_page_for_people(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page", headers={**HTML, "accept-language": "zh-CN"})
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "页面不存在" in response.text


async def test_api_errors_are_problem_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-resource", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not Found"}


def test_both_catalogs_have_the_same_keys() -> None:
    english, chinese = i18n.catalog("en"), i18n.catalog("zh-CN")
    assert set(english) == set(chinese)
    assert all(chinese[key] for key in chinese)


def test_every_catalog_file_exists_in_both_languages_with_the_same_keys() -> None:
    folders = {language: Path(i18n.__file__).parent / "locales" / language for language in i18n.LANGUAGES}
    names = {language: sorted(path.name for path in folder.glob("*.json")) for language, folder in folders.items()}
    assert names["en"] == names["zh-CN"] and "core.json" in names["en"]
    for name in names["en"]:
        keys = [set(json.loads((folder / name).read_text(encoding="utf-8"))) for folder in folders.values()]
        assert keys[0] == keys[1], name


def test_negotiation_prefers_the_cookie_then_the_browser() -> None:
    assert i18n.negotiate("zh-CN", "en-US") == "zh-CN"
    assert i18n.negotiate(None, "zh-TW,zh;q=0.8") == "zh-CN"
    assert i18n.negotiate("klingon", "fr-FR") == "en"

"""Logging in to the web UI: sessions in MongoDB, cookie flags, CSRF, lockout, logout (here and everywhere)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from scrm.app import create_app
from scrm.auth.sessions import token_hash
from scrm.auth.ui.signed_in import SESSION_COOKIE, SignedIn
from scrm.db import Database
from scrm.models import AuditAction, AuditEntry, LoginSession, Membership, Role
from scrm.settings import Settings
from tests.auth.conftest import PASSWORD, Member, MovableClock
from tests.auth.forms import HTML, csrf_of, log_in
from tests.conftest import serving

PUBLIC = ["/health", "/login", "/lang/en", "/static/scrm.css", "/api/v1/schema/openapi.json"]


async def test_pages_send_strangers_to_the_login_page(web: httpx.AsyncClient) -> None:
    for path in ("/", "/account", "/overview/live"):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", PUBLIC)
async def test_public_paths_need_no_login(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code in (200, 302) and "/login" not in response.headers.get("location", "")


async def test_logging_in_opens_the_overview_with_a_server_side_session(web: httpx.AsyncClient, member: Member) -> None:
    answer = await log_in(web, "ANA@example.com ", PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = web.cookies[SESSION_COOKIE]
    stored = await LoginSession.find_one({"user_id": member.user.id})
    assert stored is not None and stored.token_hash == token_hash(token) and token not in str(stored.model_dump())
    page = await web.get("/", headers=HTML)
    assert page.status_code == 200 and 'action="/logout"' in page.text
    entry = await AuditEntry.find_one({"action": AuditAction.LOGIN.value})
    assert entry is not None and entry.workspace_id == member.workspace.id and entry.actor == f"user:{member.user.id}"


async def test_the_login_goes_back_to_the_page_asked_for(web: httpx.AsyncClient, member: Member) -> None:
    assert (await log_in(web, "ana@example.com", PASSWORD, "/account")).headers["location"] == "/account"
    await web.post("/logout", data={"csrf_token": csrf_of(await web.get("/account", headers=HTML))})
    assert (await log_in(web, "ana@example.com", PASSWORD, "//evil.example")).headers["location"] == "/"


async def test_the_session_cookie_is_secure_behind_https(
    keyed_settings: Settings, member: Member, database: Database
) -> None:
    behind_https = replace(keyed_settings, public_url="https://crm.example.com")
    async with serving(create_app(behind_https)) as web:
        answer = await log_in(web, "ana@example.com", PASSWORD)
    assert "Secure" in answer.headers["set-cookie"] and "HttpOnly" in answer.headers["set-cookie"]


async def test_a_wrong_password_is_refused_and_audited(web: httpx.AsyncClient, member: Member) -> None:
    answer = await log_in(web, "ana@example.com", "not the password")
    assert answer.status_code == 401 and "Wrong email or password" in answer.text
    assert SESSION_COOKIE not in web.cookies
    unknown = await log_in(web, "nobody@example.com", "whatever it is")
    assert unknown.status_code == 401 and unknown.text.count("Wrong email or password") == 1
    failures = await AuditEntry.find({"action": AuditAction.LOGIN_FAILED.value}).to_list()
    assert {(f.target, f.workspace_id) for f in failures} == {
        ("ana@example.com", member.workspace.id),
        ("nobody@example.com", None),
    }


async def test_repeated_failures_lock_the_login_until_the_window_ends(
    web: httpx.AsyncClient, member: Member, clock: MovableClock
) -> None:
    for _ in range(5):
        assert (await log_in(web, "ana@example.com", "wrong password")).status_code == 401
    locked = await log_in(web, "ana@example.com", PASSWORD)
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    clock.advance(minutes=16)
    assert (await log_in(web, "ana@example.com", PASSWORD)).status_code == 303


async def test_forms_without_their_csrf_token_are_refused(web: httpx.AsyncClient, member: Member) -> None:
    refused = await web.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": "forged"})
    assert refused.status_code == 403 and SESSION_COOKIE not in web.cookies
    await log_in(web, "ana@example.com", PASSWORD)
    assert (await web.post("/logout", data={"csrf_token": "forged"}, headers=HTML)).status_code == 403
    assert (await web.get("/", headers=HTML)).status_code == 200, "still logged in"


async def test_logging_out_ends_the_session(web: httpx.AsyncClient, member: Member) -> None:
    await log_in(web, "ana@example.com", PASSWORD)
    token = web.cookies[SESSION_COOKIE]
    answer = await web.post("/logout", data={"csrf_token": csrf_of(await web.get("/account", headers=HTML))})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    web.cookies.set(SESSION_COOKIE, token)  # a copy of the old cookie opens nothing
    assert (await web.get("/", headers=HTML)).status_code == 303
    assert await LoginSession.count() == 0


async def test_logging_out_everywhere_ends_every_session(
    web: httpx.AsyncClient, member: Member, clock: MovableClock
) -> None:
    await log_in(web, "ana@example.com", PASSWORD)
    laptop = web.cookies[SESSION_COOKIE]
    web.cookies.clear()
    await log_in(web, "ana@example.com", PASSWORD)
    assert await LoginSession.count() == 2
    page = await web.get("/account", headers=HTML)
    await web.post("/account/logout-everywhere", data={"csrf_token": csrf_of(page)})
    web.cookies.set(SESSION_COOKIE, laptop)
    assert (await web.get("/", headers=HTML)).status_code == 303
    assert await LoginSession.count() == 0
    assert await AuditEntry.find({"action": AuditAction.LOGOUT_EVERYWHERE.value}).count() == 1


async def test_an_idle_session_expires(web: httpx.AsyncClient, member: Member, clock: MovableClock) -> None:
    await log_in(web, "ana@example.com", PASSWORD)
    clock.advance(hours=11)
    assert (await web.get("/", headers=HTML)).status_code == 200
    clock.advance(hours=11)
    assert (await web.get("/", headers=HTML)).status_code == 200, "use keeps it alive"
    clock.advance(hours=13)
    assert (await web.get("/", headers=HTML)).status_code == 303


async def test_the_login_page_speaks_chinese(web: httpx.AsyncClient) -> None:
    page = await web.get("/login", headers={**HTML, "accept-language": "zh-CN"})
    assert '<html lang="zh-CN">' in page.text and "<h1>登录</h1>" in page.text and "密码" in page.text


async def test_a_signed_in_member_acts_with_their_role_and_channels(web: httpx.AsyncClient, member: Member) -> None:
    await log_in(web, "ana@example.com", PASSWORD)
    session = await LoginSession.find_one({"user_id": member.user.id})
    assert session is not None
    membership = await Membership.find_one({"user_id": member.user.id})
    assert membership is not None
    principal = SignedIn(
        user=member.user, session=session, workspace=member.workspace, membership=membership
    ).principal()
    assert principal is not None and principal.role is Role.ADMIN and principal.workspace_id == member.workspace.id

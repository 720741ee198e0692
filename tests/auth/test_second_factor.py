"""Two-factor login: turning TOTP on from the account page, logging in with a code or a recovery code."""

from __future__ import annotations

import re

import httpx

from scrm.auth.totp import code_at
from scrm.auth.ui.signed_in import SESSION_COOKIE
from scrm.models import AuditAction, AuditEntry, User
from tests.auth.conftest import PASSWORD, Member, MovableClock
from tests.auth.forms import HTML, csrf_of, log_in, post_account_form, submit_code


async def turn_on_two_factor(web: httpx.AsyncClient, clock: MovableClock) -> tuple[str, list[str]]:
    """Log in, turn TOTP on from the account page; returns the secret and the recovery codes, logged out."""
    await log_in(web, "ana@example.com", PASSWORD)
    setup = await post_account_form(web, "/account/totp/setup")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', setup.text)
    assert secret, setup.text
    confirmed = await post_account_form(web, "/account/totp/confirm", code=code_at(secret.group(1), clock.now))
    assert confirmed.status_code == 200 and 'data-totp="on"' in confirmed.text
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", confirmed.text)
    assert len(codes) == 10
    await web.post("/logout", data={"csrf_token": csrf_of(confirmed)})
    clock.advance(seconds=30)
    return secret.group(1), codes


async def test_a_wrong_first_code_leaves_two_factor_off(web: httpx.AsyncClient, member: Member) -> None:
    await log_in(web, "ana@example.com", PASSWORD)
    await post_account_form(web, "/account/totp/setup")
    refused = await post_account_form(web, "/account/totp/confirm", code="000000")
    assert refused.status_code == 400 and "does not match" in refused.text
    stored = await User.get(member.user.id)
    assert stored is not None and not stored.totp_enabled


async def test_with_two_factor_the_password_alone_opens_nothing(
    web: httpx.AsyncClient, member: Member, clock: MovableClock
) -> None:
    secret, _ = await turn_on_two_factor(web, clock)
    answer = await log_in(web, "ana@example.com", PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login/code")
    assert (await web.get("/", headers=HTML)).status_code == 303
    assert (await web.get("/account", headers=HTML)).headers["location"].startswith("/login")
    wrong = await submit_code(web, "123456" if code_at(secret, clock.now) != "123456" else "654321")
    assert wrong.status_code == 401 and "not valid" in wrong.text
    pending = web.cookies[SESSION_COOKIE]
    right = await submit_code(web, code_at(secret, clock.now))
    assert right.status_code == 303 and right.headers["location"] == "/"
    assert web.cookies[SESSION_COOKIE] != pending, "a new session token once the second factor passed"
    assert (await web.get("/", headers=HTML)).status_code == 200
    entry = await AuditEntry.find({"action": AuditAction.LOGIN.value}).sort("-_id").first_or_none()
    assert entry is not None and entry.details == {"second_factor": "totp"}


async def test_a_code_works_only_once(web: httpx.AsyncClient, member: Member, clock: MovableClock) -> None:
    secret, _ = await turn_on_two_factor(web, clock)
    code = code_at(secret, clock.now)
    await log_in(web, "ana@example.com", PASSWORD)
    assert (await submit_code(web, code)).status_code == 303
    web.cookies.clear()
    await log_in(web, "ana@example.com", PASSWORD)
    assert (await submit_code(web, code)).status_code == 401, "a replayed code is refused"


async def test_a_recovery_code_logs_in_once(web: httpx.AsyncClient, member: Member, clock: MovableClock) -> None:
    _, codes = await turn_on_two_factor(web, clock)
    await log_in(web, "ana@example.com", PASSWORD)
    assert (await submit_code(web, codes[0].upper())).status_code == 303
    web.cookies.clear()
    await log_in(web, "ana@example.com", PASSWORD)
    assert (await submit_code(web, codes[0])).status_code == 401
    stored = await User.get(member.user.id)
    assert stored is not None and len(stored.recovery_code_hashes) == 9
    assert codes[1] not in str(stored.model_dump()), "recovery codes are stored hashed"


async def test_turning_two_factor_off_needs_the_password(
    web: httpx.AsyncClient, member: Member, clock: MovableClock
) -> None:
    secret, _ = await turn_on_two_factor(web, clock)
    await log_in(web, "ana@example.com", PASSWORD)
    await submit_code(web, code_at(secret, clock.now))
    refused = await post_account_form(web, "/account/totp/disable", password="not it at all")
    assert refused.status_code == 400 and 'data-totp="on"' in refused.text
    done = await post_account_form(web, "/account/totp/disable", password=PASSWORD)
    assert 'data-totp="off"' in done.text
    actions = [e.action for e in await AuditEntry.find({"workspace_id": member.workspace.id}).to_list()]
    assert AuditAction.SECOND_FACTOR_ENABLED in actions and AuditAction.SECOND_FACTOR_DISABLED in actions


async def test_second_factor_failures_count_towards_the_lockout(
    web: httpx.AsyncClient, member: Member, clock: MovableClock
) -> None:
    secret, _ = await turn_on_two_factor(web, clock)
    await log_in(web, "ana@example.com", PASSWORD)
    for _ in range(5):
        await submit_code(web, "999999" if code_at(secret, clock.now) != "999999" else "888888")
    locked = await submit_code(web, code_at(secret, clock.now))
    assert locked.status_code == 429

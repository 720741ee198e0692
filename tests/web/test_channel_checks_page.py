"""The overview's credential check: "checked 2 h ago" under each channel's status, and "Check now" for admins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from scrm.auth.accounts import add_member, create_user, create_workspace
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Role
from tests import platform_fakes
from tests.auth.forms import csrf_of, log_in
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel

HTML = {"accept": "text/html"}
PASSWORD = "a-long-enough-password"
GET_ME = f"https://api.telegram.org/bot{TELEGRAM_CREDENTIALS['bot_token']}/getMe"
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.fixture
async def channel(database: Database, now: datetime) -> platform_fakes.TestChannel:
    """The workspace `acme` with a Telegram channel, an admin and an agent."""
    workspace = await create_workspace("acme", now, actor="test")
    assert workspace.id is not None
    for who, role in (("admin", Role.ADMIN), ("agent", Role.AGENT)):
        user = await create_user(f"{who}@example.com", PASSWORD, now)
        await add_member(workspace.id, user, role, now, actor="test")
    return await make_channel("telegram", TELEGRAM_CREDENTIALS)


@pytest.fixture
def revoked_bot() -> Iterator[respx.Route]:
    """Telegram's `getMe` refusing the bot token (revoked in @BotFather)."""
    with respx.mock(assert_all_called=False) as router:
        yield router.get(GET_ME).mock(return_value=httpx.Response(401, json=UNAUTHORIZED))


def check_form(page: httpx.Response, channel: platform_fakes.TestChannel) -> str | None:
    """The CSRF token of the channel's "Check now" form, or None when the page has no such form."""
    found = re.search(rf'action="/overview/channels/{channel.id}/check"[^>]*>\s*<input[^>]*value="([^"]+)"', page.text)
    return found.group(1) if found else None


async def test_an_admin_checks_a_channel_and_the_overview_shows_the_answer(
    client: httpx.AsyncClient, channel: platform_fakes.TestChannel, revoked_bot: respx.Route
) -> None:
    await log_in(client, "admin@example.com", PASSWORD)
    page = await client.get("/", headers=HTML)
    assert "credentials not checked yet" in page.text
    token = check_form(page, channel)
    assert token is not None and ">Check now</button>" in page.text

    answer = await client.post(
        f"/overview/channels/{channel.id}/check", data={"csrf_token": token}, headers=HTML, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/#channel-{channel.id}"
    assert revoked_bot.call_count == 1
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY

    after = await client.get("/overview/live", headers=HTML)
    assert "checked just now" in after.text and "the bot token was refused" in after.text
    client.cookies.set("scrm_lang", "zh-CN")
    chinese = await client.get("/overview/live", headers=HTML)
    assert "刚刚检查" in chinese.text and "立即检查" in chinese.text


async def test_the_age_of_the_last_check_is_shown(
    client: httpx.AsyncClient, channel: platform_fakes.TestChannel
) -> None:
    checked = datetime.now(UTC) - timedelta(hours=2, minutes=5)
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel.id}, {"$set": {"credentials_checked_at": checked}}
    )
    await log_in(client, "admin@example.com", PASSWORD)
    page = await client.get("/overview/live", headers=HTML)
    assert 'data-checked="hours:2"' in page.text and "checked 2 h ago" in page.text


async def test_a_forged_form_and_an_agent_are_refused(
    client: httpx.AsyncClient, channel: platform_fakes.TestChannel, revoked_bot: respx.Route
) -> None:
    await log_in(client, "admin@example.com", PASSWORD)
    forged = await client.post(f"/overview/channels/{channel.id}/check", data={"csrf_token": "x"}, headers=HTML)
    assert forged.status_code == 403

    await client.post("/logout", data={"csrf_token": csrf_of(await client.get("/", headers=HTML))}, headers=HTML)
    await log_in(client, "agent@example.com", PASSWORD)
    page = await client.get("/", headers=HTML)
    assert check_form(page, channel) is None and "Check now" not in page.text
    token = csrf_of(page)
    refused = await client.post(f"/overview/channels/{channel.id}/check", data={"csrf_token": token}, headers=HTML)
    assert refused.status_code == 403 and revoked_bot.call_count == 0
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE and stored.credentials_checked_at is None

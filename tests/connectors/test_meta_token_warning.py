"""A Meta token ending within 7 days: the check stores a warning with the date, the Overview and the API show it,
the channel stays active, and a later check seeing a fresh token clears it; an expired token is a problem."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from scrm.auth.accounts import add_member, create_user, create_workspace
from scrm.auth.roles import Principal
from scrm.channel_access import ChannelDirectory
from scrm.channel_checks import check_channel
from scrm.channel_commands import check_text
from scrm.connectors.meta.graph import GRAPH_URL
from scrm.credential_schedule import check_due_channels
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Role, SecretBox
from scrm.platform_state import MongoTokenStore
from scrm.settings import Settings
from tests import platform_fakes
from tests.auth.forms import log_in
from tests.conftest import TEST_SECRET_KEY
from tests.connectors.memory import FakeClock
from tests.connectors.meta.test_credential_check import CREDS, PAGE_SCOPES, DebugToken
from tests.platform_fakes import api_headers, make_channel

HTML = {"accept": "text/html"}
PASSWORD = "a-long-enough-password"


@pytest.fixture
async def channel(database: Database) -> platform_fakes.TestChannel:
    """The workspace `acme` with an admin and a Meta channel whose credentials include the app id."""
    now = datetime.now(UTC)
    workspace = await create_workspace("acme", now, actor="test")
    assert workspace.id is not None
    user = await create_user("admin@example.com", PASSWORD, now)
    await add_member(workspace.id, user, Role.ADMIN, now, actor="test")
    return await make_channel("meta", CREDS)


@pytest.fixture
def debug() -> Iterator[DebugToken]:
    """Meta's `GET /debug_token`, answering about tokens relative to the time the app's connector reads."""
    server = DebugToken(FakeClock(datetime.now(UTC)))
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH_URL}/debug_token").mock(side_effect=server)
        yield server


async def check_now(client: httpx.AsyncClient, channel: platform_fakes.TestChannel) -> None:
    """Press the overview's "Check now" for the channel (as the signed-in admin)."""
    page = await client.get("/", headers=HTML)
    found = re.search(rf'action="/overview/channels/{channel.id}/check"[^>]*>\s*<input[^>]*value="([^"]+)"', page.text)
    assert found is not None
    answer = await client.post(
        f"/overview/channels/{channel.id}/check", data={"csrf_token": found.group(1)}, headers=HTML
    )
    assert answer.status_code == 303


async def warned(client: httpx.AsyncClient, channel: platform_fakes.TestChannel, debug: DebugToken) -> None:
    """Sign in as the admin and check the channel while Meta says its Page token ends in 3 days."""
    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(days=3))
    await log_in(client, "admin@example.com", PASSWORD)
    await check_now(client, channel)


def expiry_of(debug: DebugToken) -> datetime:
    """When the fake says the Page token expires."""
    return datetime.fromtimestamp(debug.answers["PAGE-TOKEN"]["expires_at"], UTC)


async def test_a_token_ending_in_3_days_is_a_warning_on_the_overview_and_in_the_api(
    client: httpx.AsyncClient, channel: platform_fakes.TestChannel, debug: DebugToken
) -> None:
    await warned(client, channel, debug)
    assert debug.asked == ["PAGE-TOKEN"]

    ends = expiry_of(debug)
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE and stored.status_reason == ""
    assert stored.credentials_warning.startswith("meta: the Page token will expire on")
    assert stored.credentials_expire_at is not None
    assert stored.credentials_expire_at.replace(tzinfo=UTC) == ends

    day = f"{ends:%Y-%m-%d}"
    page = await client.get("/overview/live", headers=HTML)
    assert f"Token expires on {day} — re-authorise" in page.text
    client.cookies.set("scrm_lang", "zh-CN")
    chinese = await client.get("/overview/live", headers=HTML)
    assert f"令牌将于 {day} 过期，请重新授权" in chinese.text

    shown = await client.get(f"/api/v1/channels/{channel.id}", headers=await api_headers(channel.workspace_id))
    body = shown.json()
    assert body["status"] == "active" and body["credentials_warning"] == stored.credentials_warning
    assert datetime.fromisoformat(body["credentials_expire_at"]).replace(tzinfo=UTC) == ends


async def test_a_later_check_seeing_a_fresh_token_clears_the_warning(
    client: httpx.AsyncClient, channel: platform_fakes.TestChannel, debug: DebugToken
) -> None:
    await warned(client, channel, debug)
    assert "Token expires on" in (await client.get("/overview/live", headers=HTML)).text

    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(days=60))  # renewed on Meta's side
    await check_now(client, channel)
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE
    assert stored.credentials_warning == "" and stored.credentials_expire_at is None
    assert "Token expires on" not in (await client.get("/overview/live", headers=HTML)).text
    body = (await client.get(f"/api/v1/channels/{channel.id}", headers=await api_headers(channel.workspace_id))).json()
    assert body["credentials_warning"] == "" and body["credentials_expire_at"] is None


async def test_an_expired_token_makes_the_channel_unhealthy_without_a_warning(
    client: httpx.AsyncClient, channel: platform_fakes.TestChannel, debug: DebugToken
) -> None:
    await warned(client, channel, debug)

    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(hours=-1))
    await check_now(client, channel)
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY
    assert stored.status_reason.startswith("meta: the Page token did expire on")
    assert stored.credentials_warning == "" and stored.credentials_expire_at is None
    page = await client.get("/overview/live", headers=HTML)
    assert "did expire on" in page.text and "Token expires on" not in page.text


async def test_the_scheduled_check_stores_the_warning_too(
    channel: platform_fakes.TestChannel, debug: DebugToken, database: Database
) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(days=3))
    box = SecretBox.from_secret_key(TEST_SECRET_KEY)
    now = datetime.now(UTC)
    async with httpx.AsyncClient() as http:
        done = await check_due_channels(ChannelDirectory(box).find, MongoTokenStore(box, lambda: now), http, now)
    assert [c.problem for c in done] == [None]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE
    assert stored.credentials_expire_at is not None
    assert stored.credentials_expire_at.replace(tzinfo=UTC) == expiry_of(debug)


async def test_the_command_prints_the_warning_with_the_day_the_token_ends(
    channel: platform_fakes.TestChannel, debug: DebugToken, settings: Settings
) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(days=3))
    owner = Principal(workspace_id=channel.workspace_id, role=Role.OWNER, actor="test")
    result = await check_channel(owner, str(channel.id), settings, datetime.now(UTC))
    accepted, warning = check_text(result).splitlines()
    assert accepted == "meta accepted the credentials; the channel is active."
    assert warning.startswith(f"Warning: they end on {expiry_of(debug):%Y-%m-%d} — re-authorise before then (meta: ")

    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(days=60))
    renewed = await check_channel(owner, str(channel.id), settings, datetime.now(UTC))
    assert check_text(renewed) == "meta accepted the credentials; the channel is active."

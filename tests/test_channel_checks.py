"""Checking a channel's credentials with its platform: the API action, `scrm channels check` and the schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
import respx
from beanie import PydanticObjectId

from scrm.channel_access import ChannelDirectory
from scrm.channel_health import mark_unhealthy
from scrm.credential_schedule import CHECK_PERIOD, CHECKS_PER_RUN, ScheduledCheck, check_due_channels
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Role, SecretBox
from scrm.platform_state import MongoTokenStore
from tests.auth.test_commands import output, scrm
from tests.conftest import FIXED_NOW, TEST_SECRET_KEY, free_port
from tests.connectors.line.line_server import LineServer
from tests.platform_fakes import LINE_CREDENTIALS, TELEGRAM_CREDENTIALS, api_headers, make_channel
from tests.test_channel_commands import add, env  # noqa: F401 (env is a fixture)


@pytest.fixture
def line() -> Iterator[LineServer]:
    """LINE's side of HTTP: `GET /v2/bot/info` answers for the channel's access token."""
    server = LineServer(LINE_CREDENTIALS["channel_access_token"])
    with respx.mock(assert_all_called=False) as router:
        server.mount(router)
        yield server


async def check(client: httpx.AsyncClient, channel_id: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/api/v1/channels/{channel_id}/check", headers=headers)


async def test_a_revoked_token_marks_the_channel_unhealthy_and_a_working_one_restores_it(
    client: httpx.AsyncClient, database: Database, line: LineServer
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    headers = await api_headers(channel.workspace_id)

    fine = (await check(client, str(channel.id), headers)).json()
    assert fine["checked"] is True and fine["problem"] is None and fine["channel"]["status"] == "active"

    line.revoke()
    refused = await check(client, str(channel.id), headers)
    assert refused.status_code == 200
    body = refused.json()
    assert body["problem"].startswith("line: the channel access token is invalid")
    assert body["channel"]["status"] == "unhealthy" and body["channel"]["status_reason"] == body["problem"]

    line.issue_token("reissued-line-token")  # reissued in the console and pasted in
    patch = {"credentials": {"channel_access_token": "reissued-line-token"}, "status": "unhealthy"}
    assert (await client.patch(f"/api/v1/channels/{channel.id}", json=patch, headers=headers)).status_code == 200
    restored = (await check(client, str(channel.id), headers)).json()
    assert restored["problem"] is None and restored["channel"]["status"] == "active"
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE and stored.status_reason == ""


async def test_an_unreachable_platform_changes_nothing(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    await mark_unhealthy(channel.id, "line: the channel access token is invalid", FIXED_NOW)
    with respx.mock() as router:
        router.get("https://api.line.me/v2/bot/info").mock(side_effect=httpx.ConnectError("no route to host"))
        response = await check(client, str(channel.id), await api_headers(channel.workspace_id))
    assert response.status_code == 502 and "line could not be asked" in response.json()["detail"]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY


async def test_agents_may_not_check_and_other_workspaces_do_not_see_the_channel(
    client: httpx.AsyncClient, database: Database, line: LineServer
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    other = await make_channel("line", LINE_CREDENTIALS, workspace="globex")
    agent = await check(client, str(channel.id), await api_headers(channel.workspace_id, Role.AGENT))
    assert agent.status_code == 403
    elsewhere = await check(client, str(channel.id), await api_headers(other.workspace_id))
    assert elsewhere.status_code == 404


async def test_the_command_says_when_the_platform_cannot_be_asked(env: dict[str, str]) -> None:  # noqa: F811
    made = output(await add(env, "telegram", *_settings(TELEGRAM_CREDENTIALS), "--json"))
    closed = f"http://127.0.0.1:{free_port()}"  # the platform is out of reach: every connection is refused
    unreachable = {**env, **dict.fromkeys(("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"), closed)}
    result = await scrm(unreachable, "channels", "check", made["id"])
    assert result.exit_code == 1, result.output
    assert "telegram could not be asked" in result.output
    stored = await Channel.get(PydanticObjectId(made["id"]))
    assert stored is not None and stored.status is ChannelStatus.ACTIVE and stored.credentials_checked_at is None


async def test_the_api_shows_when_the_credentials_were_last_checked(
    client: httpx.AsyncClient, database: Database, line: LineServer
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    headers = await api_headers(channel.workspace_id)
    before = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert before["credentials_checked_at"] is None
    checked = (await check(client, str(channel.id), headers)).json()
    assert checked["channel"]["credentials_checked_at"] is not None
    after = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert after["credentials_checked_at"] == checked["channel"]["credentials_checked_at"]


# The scheduled check (`scrm.credential_schedule`), against Telegram's `getMe`.

GET_ME = f"https://api.telegram.org/bot{TELEGRAM_CREDENTIALS['bot_token']}/getMe"
BOT_ID = int(TELEGRAM_CREDENTIALS["bot_token"].partition(":")[0])
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


class BotApi:
    """`getMe` for the bot tokens Telegram knows; a revoked one answers 401."""

    def __init__(self) -> None:
        self.revoked = False
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.revoked:
            return httpx.Response(401, json=UNAUTHORIZED)
        return httpx.Response(200, json={"ok": True, "result": {"id": BOT_ID, "is_bot": True, "first_name": "Shop"}})


@pytest.fixture
def bot_api() -> Iterator[BotApi]:
    api = BotApi()
    with respx.mock(assert_all_called=False) as router:
        router.get(GET_ME).mock(side_effect=api)
        yield api


async def run_checks(now: datetime, limit: int = CHECKS_PER_RUN) -> list[ScheduledCheck]:
    box = SecretBox.from_secret_key(TEST_SECRET_KEY)
    async with httpx.AsyncClient() as http:
        return await check_due_channels(ChannelDirectory(box).find, MongoTokenStore(box, lambda: now), http, now, limit)


async def stamp(channel_id: PydanticObjectId, checked_at: datetime) -> None:
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel_id}, {"$set": {"credentials_checked_at": checked_at}}
    )


async def test_the_schedule_marks_a_channel_with_a_revoked_token_unhealthy(database: Database, bot_api: BotApi) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    bot_api.revoked = True
    done = await run_checks(FIXED_NOW)
    assert [check.channel_id for check in done] == [channel.id]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY
    assert stored.status_reason.startswith("telegram: the bot token was refused")
    assert stored.credentials_checked_at == FIXED_NOW


async def test_the_schedule_restores_an_unhealthy_channel_whose_check_passes(
    database: Database, bot_api: BotApi
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    await mark_unhealthy(channel.id, "telegram: the bot token was refused", FIXED_NOW - timedelta(days=1))
    await run_checks(FIXED_NOW)
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE and stored.status_reason == ""


async def test_a_recently_checked_channel_is_skipped_and_an_old_check_is_repeated(
    database: Database, bot_api: BotApi
) -> None:
    recent = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    old = await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace="globex")
    disabled = await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace="initech")
    await stamp(recent.id, FIXED_NOW - CHECK_PERIOD + timedelta(minutes=5))
    await stamp(old.id, FIXED_NOW - CHECK_PERIOD - timedelta(minutes=5))
    await Channel.get_pymongo_collection().update_one({"_id": disabled.id}, {"$set": {"status": "disabled"}})
    done = await run_checks(FIXED_NOW)
    assert [check.channel_id for check in done] == [old.id] and bot_api.calls == 1
    assert await run_checks(FIXED_NOW) == []


async def test_two_concurrent_runs_check_each_channel_once_and_each_run_is_bounded(
    database: Database, bot_api: BotApi
) -> None:
    channels = [await make_channel("telegram", TELEGRAM_CREDENTIALS, workspace=f"w{n}") for n in range(5)]
    first, second = await asyncio.gather(run_checks(FIXED_NOW, limit=3), run_checks(FIXED_NOW, limit=3))
    checked = [check.channel_id for check in first + second]
    assert sorted(checked) == sorted(channel.id for channel in channels)
    assert bot_api.calls == 5 and len(first) <= 3 and len(second) <= 3

    bounded = await run_checks(FIXED_NOW + CHECK_PERIOD, limit=2)
    assert len(bounded) == 2 and bot_api.calls == 7


async def test_an_outage_during_a_scheduled_check_changes_nothing(database: Database) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    with respx.mock() as router:
        router.get(GET_ME).mock(side_effect=httpx.ConnectError("no route to host"))
        done = await run_checks(FIXED_NOW)
    assert len(done) == 1 and "telegram could not be asked" in done[0].failed
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE and stored.status_reason == ""


def _settings(credentials: dict[str, str]) -> list[str]:
    return [arg for key, value in credentials.items() for arg in ("--set", f"{key}={value}")]


async def test_a_channel_missing_a_credential_is_told_which(database: Database) -> None:
    channel = await make_channel("telegram", {"secret_token": TELEGRAM_CREDENTIALS["secret_token"]})
    with respx.mock() as router:
        done = await run_checks(FIXED_NOW)
        assert not router.calls  # nothing was asked without a token
    assert [check.problem for check in done] == ["telegram: the channel has no bot_token credential; set it"]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.UNHEALTHY

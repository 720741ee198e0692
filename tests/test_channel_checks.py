"""Checking a channel's credentials with its platform: the API action and `scrm channels check`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from scrm.channel_health import mark_unhealthy
from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Role
from tests.auth.test_commands import output, scrm
from tests.conftest import FIXED_NOW
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


async def test_the_command_says_when_a_platform_has_no_check(env: dict[str, str]) -> None:  # noqa: F811
    made = output(await add(env, "telegram", *_settings(TELEGRAM_CREDENTIALS), "--json"))
    result = await scrm(env, "channels", "check", made["id"])
    assert result.exit_code == 0, result.output
    assert "has no credential check; the channel is active" in result.output


def _settings(credentials: dict[str, str]) -> list[str]:
    return [arg for key, value in credentials.items() for arg in ("--set", f"{key}={value}")]

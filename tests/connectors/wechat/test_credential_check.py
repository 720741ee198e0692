"""WeChat's credential check: a fresh access token from `cgi-bin/token`, its errcodes named for a person."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx

from scrm.connectors.stores import AccessToken
from scrm.connectors.wechat import WeChat

from ..memory import FakeClock, InMemoryTokenStore
from .wechat_server import OfficialAccountServer

CREDS = {"app_id": "wx2c2769f8efd9abc2", "app_secret": "secret", "token": "spamtest"}


@pytest.fixture
def server(clock: FakeClock) -> OfficialAccountServer:
    return OfficialAccountServer(CREDS["app_id"], CREDS["app_secret"], clock.now().timestamp())


@pytest.fixture
def wechat(token_store: InMemoryTokenStore, clock: FakeClock) -> WeChat:
    return WeChat(token_store, clock)


@respx.mock
async def test_a_working_secret_fetches_a_token_that_every_caller_then_uses(
    wechat: WeChat, server: OfficialAccountServer, http: httpx.AsyncClient, token_store: InMemoryTokenStore
) -> None:
    server.mount(respx.mock)
    assert await wechat.check_credentials(http, CREDS) is None
    assert server.issued == ["TOKEN1"]
    assert token_store.tokens[f"wechat:{CREDS['app_id']}"].value == "TOKEN1"


@respx.mock
async def test_a_cached_token_does_not_stand_in_for_the_secret(
    wechat: WeChat, server: OfficialAccountServer, http: httpx.AsyncClient, token_store: InMemoryTokenStore
) -> None:
    server.mount(respx.mock)
    cached = AccessToken("CACHED", wechat.clock.now() + timedelta(hours=1))
    token_store.tokens[f"wechat:{CREDS['app_id']}"] = cached
    assert await wechat.check_credentials(http, CREDS) is None
    assert server.issued == ["TOKEN1"]  # asked the platform although a fresh token was stored
    assert token_store.tokens[f"wechat:{CREDS['app_id']}"].value == "TOKEN1"

    server.app_secret = "reset-in-the-console"
    problem = await wechat.check_credentials(http, CREDS)
    assert problem is not None and problem.startswith("wechat: the AppSecret is wrong or was reset")
    assert problem.endswith("(errcode 40001)")


@respx.mock
async def test_an_ip_outside_the_whitelist_is_named(
    wechat: WeChat, server: OfficialAccountServer, http: httpx.AsyncClient
) -> None:
    server.mount(respx.mock)
    server.whitelisted = False
    problem = await wechat.check_credentials(http, CREDS)
    assert problem == (
        "wechat: this server's IP 203.0.113.7 is not in the account's IP whitelist "
        "(add it under 设置与开发 → 基本配置 → IP白名单) (errcode 40164)"
    )


@respx.mock
async def test_a_wrong_app_id_is_named(wechat: WeChat, server: OfficialAccountServer, http: httpx.AsyncClient) -> None:
    server.mount(respx.mock)
    problem = await wechat.check_credentials(http, {**CREDS, "app_id": "wx0000000000000000"})
    assert problem is not None and problem.startswith("wechat: the AppID is invalid") and "40013" in problem

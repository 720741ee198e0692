"""WeCom's credential check: a fresh access token from `gettoken`, its errcodes named for a person."""

from __future__ import annotations

import httpx
import pytest
import respx

from scrm.connectors.errors import TemporaryFailure
from scrm.connectors.wecom import WeCom

from ..memory import FakeClock, InMemoryTokenStore
from .wecom_server import API, WeComServer

CREDS = {"corp_id": "ww1436e0e65a779aee", "secret": "app-secret", "token": "t", "encoding_aes_key": "k" * 43}


@pytest.fixture
def server() -> WeComServer:
    return WeComServer(corp_id=CREDS["corp_id"], secret=CREDS["secret"])


@pytest.fixture
def wecom(token_store: InMemoryTokenStore, clock: FakeClock) -> WeCom:
    return WeCom(token_store, clock)


@respx.mock
async def test_a_working_secret_passes_and_a_reset_one_is_named(
    wecom: WeCom, server: WeComServer, http: httpx.AsyncClient, token_store: InMemoryTokenStore
) -> None:
    server.mount(respx.mock)
    assert await wecom.check_credentials(http, CREDS) is None
    assert server.issued == ["TOKEN1"] and [t.value for t in token_store.tokens.values()] == ["TOKEN1"]

    server.secret_reset = True
    problem = await wecom.check_credentials(http, CREDS)
    assert problem is not None and problem.startswith("wecom: the app secret is invalid or was reset")
    assert problem.endswith("(errcode 40001)")


@respx.mock
async def test_a_wrong_corp_id_is_named(wecom: WeCom, server: WeComServer, http: httpx.AsyncClient) -> None:
    server.mount(respx.mock)
    problem = await wecom.check_credentials(http, {**CREDS, "corp_id": "ww0000000000000000"})
    assert problem is not None and problem.startswith("wecom: the corp id is invalid") and "40013" in problem


@respx.mock
async def test_an_untrusted_ip_is_named(wecom: WeCom, http: httpx.AsyncClient) -> None:
    message = "not allow to access from your ip, hint: [1700000000_1_abc], from ip: 198.51.100.4, more info at x"
    respx.get(f"{API}/gettoken").mock(return_value=httpx.Response(200, json={"errcode": 60020, "errmsg": message}))
    problem = await wecom.check_credentials(http, CREDS)
    assert problem is not None and "198.51.100.4" in problem and "企业可信IP" in problem


@respx.mock
async def test_a_busy_platform_is_not_an_answer(wecom: WeCom, http: httpx.AsyncClient) -> None:
    busy = httpx.Response(200, json={"errcode": -1, "errmsg": "system busy"})
    respx.get(f"{API}/gettoken").mock(return_value=busy)
    with pytest.raises(TemporaryFailure):
        await wecom.check_credentials(http, CREDS)

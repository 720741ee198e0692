"""Telegram's credential check: `getMe` answers for a working bot token, 401 for a revoked one."""

from __future__ import annotations

import httpx
import pytest
import respx

from scrm.connectors.errors import TemporaryFailure
from scrm.connectors.telegram import Telegram

from ..memory import FakeClock, InMemoryTokenStore

CREDS = {"bot_token": "123:ABC", "secret_token": "s3cret"}
GET_ME = "https://api.telegram.org/bot123:ABC/getMe"


def me(bot_id: int) -> httpx.Response:
    """getMe's answer: the bot's own User (telegram.md)."""
    user = {"id": bot_id, "is_bot": True, "first_name": "Shop", "username": "shop_bot"}
    return httpx.Response(200, json={"ok": True, "result": user})


@pytest.fixture
def telegram(token_store: InMemoryTokenStore, clock: FakeClock) -> Telegram:
    return Telegram(token_store, clock)


@respx.mock
async def test_a_working_token_passes(telegram: Telegram, http: httpx.AsyncClient) -> None:
    route = respx.get(GET_ME).mock(return_value=me(123))
    assert await telegram.check_credentials(http, CREDS) is None
    assert route.call_count == 1


@respx.mock
async def test_a_revoked_token_is_the_channels_problem(telegram: Telegram, http: httpx.AsyncClient) -> None:
    refused = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    respx.get(GET_ME).mock(return_value=httpx.Response(401, json=refused))
    problem = await telegram.check_credentials(http, CREDS)
    assert problem is not None and problem.startswith("telegram: the bot token was refused")


@respx.mock
async def test_a_token_of_another_bot_is_a_problem(telegram: Telegram, http: httpx.AsyncClient) -> None:
    respx.get(GET_ME).mock(return_value=me(999))
    assert await telegram.check_credentials(http, CREDS) == "telegram: the token belongs to bot 999, not to bot 123"


@respx.mock
async def test_an_outage_is_not_an_answer(telegram: Telegram, http: httpx.AsyncClient) -> None:
    respx.get(GET_ME).mock(return_value=httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(TemporaryFailure):
        await telegram.check_credentials(http, CREDS)

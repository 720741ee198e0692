"""Meta's credential check: `debug_token` with the app token (validity, expiry, scopes), else `GET /me`."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.meta import Meta
from scrm.connectors.meta.graph import GRAPH_URL

from ..memory import FakeClock, InMemoryTokenStore
from .graph_server import error

PAGE_ID = "682498171943165"
CREDS = {
    "app_id": "1234567890",
    "app_secret": "meta-app-secret",
    "verify_token": "v",
    "page_id": PAGE_ID,
    "page_access_token": "PAGE-TOKEN",
}
PAGE_SCOPES = ["pages_show_list", "pages_messaging", "pages_manage_metadata", "pages_read_engagement"]


@pytest.fixture
def meta(token_store: InMemoryTokenStore, clock: FakeClock) -> Meta:
    return Meta(token_store, clock)


class DebugToken:
    """`GET /debug_token?input_token=`: what Meta says about each token, asked with the app token only."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.answers: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []

    def token(self, value: str, scopes: list[str], expires_in: timedelta | None = None, **data: Any) -> None:
        expires = int((self.clock.now() + expires_in).timestamp()) if expires_in is not None else 0
        far = int((self.clock.now() + timedelta(days=90)).timestamp())
        answer = {"app_id": CREDS["app_id"], "type": "PAGE", "is_valid": True, "expires_at": expires}
        self.answers[value] = {**answer, "data_access_expires_at": far, "scopes": scopes, **data}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {CREDS['app_id']}|{CREDS['app_secret']}":
            return error(190, None, "Invalid OAuth access token signature.")
        token = request.url.params["input_token"]
        self.asked.append(token)
        refused = {"is_valid": False, "error": {"code": 190, "message": "Invalid OAuth access token."}, "scopes": []}
        return httpx.Response(200, json={"data": self.answers.get(token, refused)})


@pytest.fixture
def debug(clock: FakeClock) -> DebugToken:
    server = DebugToken(clock)
    respx.get(f"{GRAPH_URL}/debug_token").mock(side_effect=server)
    return server


@respx.mock
async def test_a_valid_page_token_with_its_permissions_passes(
    meta: Meta, debug: DebugToken, http: httpx.AsyncClient
) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES)
    assert await meta.check_credentials(http, CREDS) is None
    assert debug.asked == ["PAGE-TOKEN"]


@respx.mock
async def test_a_token_revoked_by_a_password_change_is_named(
    meta: Meta, debug: DebugToken, http: httpx.AsyncClient
) -> None:
    error_460 = {"code": 190, "subcode": 460, "message": "The session has been invalidated."}
    debug.token("PAGE-TOKEN", [], is_valid=False, error=error_460)
    problem = await meta.check_credentials(http, CREDS)
    assert problem == "meta: the Page token: the password of the account that granted the token changed (revoked)"


@respx.mock
async def test_a_permission_the_products_need_is_missing(
    meta: Meta, debug: DebugToken, http: httpx.AsyncClient
) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES)
    with_instagram = {**CREDS, "instagram_account_id": "17841405822304914"}
    problem = await meta.check_credentials(http, with_instagram)
    assert problem == "meta: the Page token lacks instagram_manage_messages (permission_missing)"


@respx.mock
async def test_the_whatsapp_token_is_checked_too(meta: Meta, debug: DebugToken, http: httpx.AsyncClient) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES)
    debug.token("WA-TOKEN", ["whatsapp_business_management"], type="SYSTEM_USER")
    problem = await meta.check_credentials(http, {**CREDS, "whatsapp_token": "WA-TOKEN"})
    assert problem == "meta: the WhatsApp token lacks whatsapp_business_messaging (permission_missing)"
    assert debug.asked == ["PAGE-TOKEN", "WA-TOKEN"]


@respx.mock
async def test_expiry_within_a_week_is_a_warning_and_past_expiry_a_problem(
    meta: Meta, debug: DebugToken, http: httpx.AsyncClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES, expires_in=timedelta(days=3))
    with caplog.at_level(logging.WARNING, logger="scrm.connectors.meta.connector"):
        assert await meta.check_credentials(http, CREDS) is None
    assert "meta: the Page token will expire on 2026-01-04 09:00 UTC" in caplog.text

    clock.advance(timedelta(days=4).total_seconds())
    problem = await meta.check_credentials(http, CREDS)
    assert problem == "meta: the Page token did expire on 2026-01-04 09:00 UTC (expired)"


@respx.mock
async def test_lost_data_access_is_a_problem(meta: Meta, debug: DebugToken, http: httpx.AsyncClient) -> None:
    debug.token("PAGE-TOKEN", PAGE_SCOPES, data_access_expires_at=int(meta.clock.now().timestamp()) - 60)
    problem = await meta.check_credentials(http, CREDS)
    assert problem is not None and problem.startswith("meta: the Page token did lose data access on")


@respx.mock
async def test_a_refused_app_secret_is_named(meta: Meta, debug: DebugToken, http: httpx.AsyncClient) -> None:
    problem = await meta.check_credentials(http, {**CREDS, "app_secret": "reset"})
    assert problem is not None and problem.startswith("meta: debug_token refused the app id and app secret")
    assert debug.asked == []


@respx.mock
async def test_without_an_app_id_the_page_token_must_read_its_own_page(meta: Meta, http: httpx.AsyncClient) -> None:
    creds = {key: value for key, value in CREDS.items() if key != "app_id"}
    me = respx.get(f"{GRAPH_URL}/me").mock(return_value=httpx.Response(200, json={"id": PAGE_ID}))
    assert await meta.check_credentials(http, creds) is None
    assert me.calls.last.request.headers["Authorization"] == "Bearer PAGE-TOKEN"
    assert me.calls.last.request.url.params["fields"] == "id"

    me.mock(return_value=httpx.Response(200, json={"id": "111"}))
    assert await meta.check_credentials(http, creds) == (
        f"meta: the Page token belongs to 111, not to the channel's Page {PAGE_ID}"
    )

    me.mock(return_value=error(190, 463, "Error validating access token: Session has expired"))
    assert await meta.check_credentials(http, creds) == "meta: the access token expired (expired)"

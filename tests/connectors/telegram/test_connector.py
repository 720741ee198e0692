"""Telegram over a faked Bot API: pulling getUpdates and sending messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.base import Reply
from scrm.connectors.errors import RequestRejected
from scrm.connectors.http import iter_new_items
from scrm.connectors.items import InboundMessage
from scrm.connectors.telegram import Telegram
from scrm.connectors.telegram.streams import Updates

from ..memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

CREDS = {"bot_token": "123:ABC", "secret_token": "s3cret"}
API = "https://api.telegram.org/bot123:ABC"
UPDATES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "fixtures" / "get_updates.json").read_text())[
    "result"
]


def ok(result: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": result})


def too_many_requests(seconds: int) -> httpx.Response:
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
        "parameters": {"retry_after": seconds},
    }
    return httpx.Response(429, json=body)


@pytest.fixture
def telegram(clock: FakeClock) -> Telegram:
    return Telegram(InMemoryTokenStore(), clock)


@respx.mock
async def test_updates_are_pulled_batch_by_batch_with_offsets(
    telegram: Telegram, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    route = respx.get(f"{API}/getUpdates").mock(side_effect=[ok(UPDATES[:4]), ok(UPDATES[4:]), ok([])])
    stream = telegram.open_stream(Updates, http, CREDS)
    items = [item async for item in iter_new_items(stream, cursor_store, "chan-1")]
    assert len(items) == 8  # the callback query gives no item
    assert [call.request.url.params.get("offset") for call in route.calls] == [None, "815000005", "815000010"]
    assert cursor_store.cursors[("chan-1", "updates")] == 815000008


@respx.mock
async def test_next_pull_starts_at_the_saved_update(
    telegram: Telegram, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    await cursor_store.save_cursor("chan-1", "updates", 815000008)
    route = respx.get(f"{API}/getUpdates").mock(side_effect=[ok(UPDATES[7:]), ok([])])
    items = [item async for item in iter_new_items(telegram.open_stream(Updates, http, CREDS), cursor_store, "chan-1")]
    assert len(items) == 1  # update 815000008 again: ingest is idempotent
    assert route.calls[0].request.url.params["offset"] == "815000008"


@respx.mock
async def test_pull_waits_for_telegrams_retry_after(
    telegram: Telegram, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    respx.get(f"{API}/getUpdates").mock(side_effect=[too_many_requests(3), ok(UPDATES[:1]), ok([])])
    pulled = [p async for p in telegram.open_stream(Updates, http, CREDS).iter_pulled()]
    assert len(pulled) == 1
    assert clock.sleeps == [3]


@respx.mock
async def test_pull_while_a_webhook_is_set_is_refused(telegram: Telegram, http: httpx.AsyncClient) -> None:
    conflict = {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active",
    }
    respx.get(f"{API}/getUpdates").mock(return_value=httpx.Response(409, json=conflict))
    with pytest.raises(RequestRejected) as caught:
        [p async for p in telegram.open_stream(Updates, http, CREDS).iter_pulled()]
    assert caught.value.code == 409


@respx.mock
async def test_send_returns_the_message_id(telegram: Telegram, http: httpx.AsyncClient) -> None:
    sent = {"message_id": 77, "chat": {"id": 123456789, "type": "private"}, "date": 1767258600, "text": "Yes!"}
    route = respx.post(f"{API}/sendMessage").mock(return_value=ok(sent))
    external_id = await telegram.send(http, CREDS, Reply(to="123456789", text="Yes!", reply_to_id="123456789:11"))
    assert external_id == "123456789:77"
    body = json.loads(route.calls[0].request.content)
    assert body == {
        "chat_id": "123456789",
        "text": "Yes!",
        "reply_parameters": {"message_id": 11, "allow_sending_without_reply": True},
    }


@respx.mock
async def test_send_honours_retry_after(telegram: Telegram, http: httpx.AsyncClient, clock: FakeClock) -> None:
    sent = {"message_id": 78, "chat": {"id": 123456789, "type": "private"}, "date": 1767258600}
    route = respx.post(f"{API}/sendMessage").mock(side_effect=[too_many_requests(5), ok(sent)])
    assert await telegram.send(http, CREDS, Reply(to="123456789", text="Hi")) == "123456789:78"
    assert route.call_count == 2
    assert clock.sleeps == [5]


@respx.mock
async def test_send_to_a_blocked_user_is_rejected(telegram: Telegram, http: httpx.AsyncClient) -> None:
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    respx.post(f"{API}/sendMessage").mock(return_value=httpx.Response(403, json=blocked))
    with pytest.raises(RequestRejected) as caught:
        await telegram.send(http, CREDS, Reply(to="123456789", text="Hi"))
    assert caught.value.code == 403
    assert "blocked" in str(caught.value)


def test_webhook_update_and_pulled_update_give_equal_items(telegram: Telegram) -> None:
    (item,) = telegram.parse_webhook(json.dumps(UPDATES[0]).encode(), CREDS)
    assert isinstance(item, InboundMessage)
    assert item.external_id == "123456789:11"


def test_a_refused_bot_token_is_a_channel_problem() -> None:
    connector = Telegram(InMemoryTokenStore())
    reason = connector.diagnose(RequestRejected("Unauthorized", status=401))
    assert reason is not None and "bot token" in reason
    assert connector.diagnose(RequestRejected("Forbidden: bot was blocked by the user", status=403)) is None

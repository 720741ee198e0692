"""WeChat over a faked Official Account API: access tokens, followers pull, customer-service send."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.base import Reply
from scrm.connectors.errors import (
    AuthRejected,
    ConnectorError,
    MessageLimitReached,
    MessagingWindowClosed,
    RateLimited,
    RequestRejected,
)
from scrm.connectors.http import iter_new_items
from scrm.connectors.items import InboundFollow
from scrm.connectors.stores import AccessToken
from scrm.connectors.wechat import WeChat
from scrm.connectors.wechat.connector import BEIJING, seconds_to_quota_renewal
from scrm.connectors.wechat.streams import Followers

from ..memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

API = "https://api.weixin.qq.com/cgi-bin"
CREDS = {"app_id": "wx2c2769f8efd9abc2", "app_secret": "secret", "token": "spamtest"}
OK = {"errcode": 0, "errmsg": "ok"}


def errcode(code: int, message: str = "error") -> httpx.Response:
    return httpx.Response(200, json={"errcode": code, "errmsg": message})


def tokens_route(*values: str) -> respx.Route:
    answers = [httpx.Response(200, json={"access_token": v, "expires_in": 7200}) for v in values]
    return respx.get(f"{API}/token").mock(side_effect=answers)


def token_of(request: httpx.Request) -> str:
    return request.url.params["access_token"]


@pytest.fixture
def store() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def wechat(store: InMemoryTokenStore, clock: FakeClock) -> WeChat:
    return WeChat(store, clock)


@respx.mock
async def test_send_fetches_the_token_once_and_reuses_it(wechat: WeChat, http: httpx.AsyncClient) -> None:
    token = tokens_route("TOKEN1")
    send = respx.post(f"{API}/message/custom/send").mock(return_value=httpx.Response(200, json=OK))
    assert await wechat.send(http, CREDS, Reply(to="oUser1", text="您好")) == ""
    await wechat.send(http, CREDS, Reply(to="oUser1", text="again"))
    assert token.call_count == 1
    assert token.calls[0].request.url.params["appid"] == "wx2c2769f8efd9abc2"
    assert [token_of(call.request) for call in send.calls] == ["TOKEN1", "TOKEN1"]
    body = json.loads(send.calls[0].request.content)
    assert body == {"touser": "oUser1", "msgtype": "text", "text": {"content": "您好"}}


@pytest.mark.parametrize("code", [40001, 42001, 40014])
@respx.mock
async def test_a_refused_token_is_refreshed_once_and_the_send_retried(
    wechat: WeChat, http: httpx.AsyncClient, code: int
) -> None:
    token = tokens_route("TOKEN1", "TOKEN2")
    send = respx.post(f"{API}/message/custom/send").mock(
        side_effect=[errcode(code, "access_token expired"), httpx.Response(200, json=OK)]
    )
    await wechat.send(http, CREDS, Reply(to="oUser1", text="hi"))
    assert token.call_count == 2
    assert [token_of(call.request) for call in send.calls] == ["TOKEN1", "TOKEN2"]


@respx.mock
async def test_a_token_refused_twice_gives_up(wechat: WeChat, http: httpx.AsyncClient) -> None:
    token = tokens_route("TOKEN1", "TOKEN2", "TOKEN3")
    send = respx.post(f"{API}/message/custom/send").mock(return_value=errcode(40001, "invalid credential"))
    with pytest.raises(AuthRejected):
        await wechat.send(http, CREDS, Reply(to="oUser1", text="hi"))
    assert (token.call_count, send.call_count) == (2, 2)


@respx.mock
async def test_concurrent_callers_share_one_refresh(
    wechat: WeChat, store: InMemoryTokenStore, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await store.save_token(
        "wechat:wx2c2769f8efd9abc2", AccessToken("OLD", clock.now() + timedelta(hours=1)), replaces=None
    )
    token = tokens_route("NEW", "NEWER")

    stale_calls, all_stale = [], asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if token_of(request) != "OLD":
            return httpx.Response(200, json=OK)
        stale_calls.append(request)
        if len(stale_calls) == 5:
            all_stale.set()
        await all_stale.wait()  # every caller holds the refused token at once
        return errcode(40001)

    respx.post(f"{API}/message/custom/send").mock(side_effect=answer)
    await asyncio.gather(*(wechat.send(http, CREDS, Reply(to=f"oUser{i}", text="hi")) for i in range(5)))
    assert token.call_count == 1
    assert (await store.find_token("wechat:wx2c2769f8efd9abc2")) == AccessToken("NEW", clock.now() + timedelta(hours=2))


@pytest.mark.parametrize(("code", "error"), [(45015, MessagingWindowClosed), (45047, MessageLimitReached)])
@respx.mock
async def test_window_and_count_refusals_are_named(
    wechat: WeChat, http: httpx.AsyncClient, code: int, error: type[Exception]
) -> None:
    tokens_route("TOKEN1")
    send = respx.post(f"{API}/message/custom/send").mock(return_value=errcode(code, "response out of time limit"))
    with pytest.raises(error):
        await wechat.send(http, CREDS, Reply(to="oUser1", text="hi"))
    assert send.call_count == 1


def user_page(openids: list[str], next_openid: str) -> httpx.Response:
    body = {"total": 250, "count": len(openids), "data": {"openid": openids}, "next_openid": next_openid}
    return httpx.Response(200, json=body)


def profiles(request: httpx.Request) -> httpx.Response:
    asked = [entry["openid"] for entry in json.loads(request.content)["user_list"]]
    infos: list[dict[str, Any]] = [
        {
            "subscribe": 0 if openid == "o-gone" else 1,
            "openid": openid,
            "language": "zh_CN",
            "subscribe_time": 1767258300,
        }
        for openid in asked
    ]
    return httpx.Response(200, json={"user_info_list": infos})


@respx.mock
async def test_followers_are_paged_by_next_openid_and_profiled_by_hundreds(
    wechat: WeChat, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    tokens_route("TOKEN1")
    openids = [f"o{i:03d}" for i in range(249)] + ["o-gone"]
    users = respx.get(f"{API}/user/get").mock(
        side_effect=[
            user_page(openids, "o-gone"),
            httpx.Response(200, json={"total": 250, "count": 0, "next_openid": ""}),
        ]
    )
    batch = respx.post(f"{API}/user/info/batchget").mock(side_effect=profiles)
    stream = wechat.open_stream(Followers, http, CREDS)
    follows = [item async for item in iter_new_items(stream, cursor_store, "chan-1")]
    assert len(follows) == 249  # the one who left between the calls is skipped
    assert all(isinstance(item, InboundFollow) and item.following for item in follows)
    assert [call.request.url.params.get("next_openid") for call in users.calls] == [None, "o-gone"]
    assert [len(json.loads(call.request.content)["user_list"]) for call in batch.calls] == [100, 100, 50]
    assert {token_of(call.request) for call in [*users.calls, *batch.calls]} == {"TOKEN1"}


@respx.mock
async def test_followers_stop_when_next_openid_repeats(wechat: WeChat, http: httpx.AsyncClient) -> None:
    tokens_route("TOKEN1")
    users = respx.get(f"{API}/user/get").mock(side_effect=[user_page(["o1"], "o1")] * 4 + [user_page([], "")])
    respx.post(f"{API}/user/info/batchget").mock(side_effect=profiles)
    follows = [p async for p in wechat.open_stream(Followers, http, CREDS).iter_pulled()]
    assert len(follows) == 2
    assert users.call_count == 2


@respx.mock
async def test_expired_token_during_a_pull_is_refreshed(wechat: WeChat, http: httpx.AsyncClient) -> None:
    token = tokens_route("TOKEN1", "TOKEN2")
    users = respx.get(f"{API}/user/get").mock(
        side_effect=[errcode(42001, "access_token expired"), user_page(["o1"], ""), user_page([], "")]
    )
    respx.post(f"{API}/user/info/batchget").mock(side_effect=profiles)
    follows = [p async for p in wechat.open_stream(Followers, http, CREDS).iter_pulled()]
    assert len(follows) == 1
    assert token.call_count == 2
    assert [token_of(call.request) for call in users.calls] == ["TOKEN1", "TOKEN2"]


@respx.mock
async def test_system_busy_is_retried(wechat: WeChat, http: httpx.AsyncClient, clock: FakeClock) -> None:
    tokens_route("TOKEN1")
    respx.get(f"{API}/user/get").mock(side_effect=[errcode(-1, "system error"), user_page([], "")])
    assert [p async for p in wechat.open_stream(Followers, http, CREDS).iter_pulled()] == []
    assert clock.sleeps == [1.0]


@respx.mock
async def test_daily_quota_reached_surfaces_as_rate_limited(
    wechat: WeChat, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    tokens_route("TOKEN1")
    users = respx.get(f"{API}/user/get").mock(return_value=errcode(45009, "reach max api daily quota limit"))
    with pytest.raises(RateLimited) as raised:
        [p async for p in wechat.open_stream(Followers, http, CREDS).iter_pulled()]
    assert users.call_count == 1 and clock.sleeps == []  # no retrying before the quota renews
    renewal = datetime.combine(clock.now().astimezone(BEIJING).date() + timedelta(days=1), time.min, tzinfo=BEIJING)
    assert raised.value.retry_after == (renewal - clock.now()).total_seconds()


def test_the_daily_quota_renews_at_midnight_beijing_time() -> None:
    assert seconds_to_quota_renewal(datetime(2026, 5, 20, 15, 59, tzinfo=UTC)) == 60.0  # 23:59 in Beijing
    assert seconds_to_quota_renewal(datetime(2026, 5, 20, 16, 0, tzinfo=UTC)) == 24 * 3600.0


IPV6_REFUSED = "invalid ip 2001:db8::7 ipv6 2001:db8::7, not in whitelist rid: 6571a9f2-5c0f7a1b"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (AuthRejected("HTTP 200 code=42001: access_token expired", status=200, code=42001), "expired"),
        (RequestRejected(f"HTTP 200 code=40164: {IPV6_REFUSED}", status=200, code=40164), "IP 2001:db8::7 is not in"),
        (RequestRejected("HTTP 200 code=40164: not in whitelist", status=200, code=40164), "this server's IP is not"),
    ],
)  # fmt: skip
def test_diagnose_says_what_to_fix(wechat: WeChat, error: ConnectorError, words: str) -> None:
    reason = wechat.diagnose(error) or ""
    assert reason.startswith("wechat: ") and words in reason


@pytest.mark.parametrize(
    "error",
    [
        MessagingWindowClosed("HTTP 200 code=45015: response out of time limit", status=200, code=45015),
        RateLimited("HTTP 429: slow down", 5.0),
        RequestRejected("HTTP 200 code=40003: invalid openid", status=200, code=40003),
    ],
)
def test_errors_of_one_request_or_that_pass_leave_the_channel_alone(wechat: WeChat, error: ConnectorError) -> None:
    assert wechat.diagnose(error) is None

"""LINE over a faked Messaging API: reply token versus push, retry keys, errors, followers with profiles."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.base import Reply, ReplyKind
from scrm.connectors.errors import AuthRejected, RateLimited, RequestRejected, TemporaryFailure
from scrm.connectors.http import iter_new_items
from scrm.connectors.items import InboundFollow
from scrm.connectors.line import Line
from scrm.connectors.line.streams import Followers

from ..memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

API = "https://api.line.me"
CREDS = {"channel_secret": "channel_secret", "channel_access_token": "CHANNEL-TOKEN"}
PROFILE: dict[str, Any] = json.loads((Path(__file__).parent / "fixtures" / "profile.json").read_text())


def sent(message_id: str) -> httpx.Response:
    return httpx.Response(200, json={"sentMessages": [{"id": message_id, "quoteToken": "q"}]})


@pytest.fixture
def line(clock: FakeClock) -> Line:
    return Line(InMemoryTokenStore(), clock)


def body_of(route: respx.Route, index: int = 0) -> Any:
    return json.loads(route.calls[index].request.content)


@respx.mock
async def test_a_usable_reply_token_sends_a_free_reply(line: Line, http: httpx.AsyncClient, clock: FakeClock) -> None:
    reply = respx.post(f"{API}/v2/bot/message/reply").mock(return_value=sent("468789577898262530"))
    push = respx.post(f"{API}/v2/bot/message/push")
    message = Reply(
        to="U1",
        text="Yes, open until 20:00",
        reply_token="RT1",
        reply_token_expires_at=clock.now() + timedelta(seconds=30),
    )
    assert await line.send(http, CREDS, message) == "468789577898262530"
    assert body_of(reply) == {"replyToken": "RT1", "messages": [{"type": "text", "text": "Yes, open until 20:00"}]}
    assert reply.calls[0].request.headers["authorization"] == "Bearer CHANNEL-TOKEN"
    assert not push.called


@respx.mock
async def test_an_expired_reply_token_pushes_with_a_retry_key(
    line: Line, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    reply = respx.post(f"{API}/v2/bot/message/reply")
    push = respx.post(f"{API}/v2/bot/message/push").mock(return_value=sent("468789577898262599"))
    message = Reply(to="U1", text="Sorry for the wait", reply_token="RT1", reply_token_expires_at=clock.now())
    assert await line.send(http, CREDS, message) == "468789577898262599"
    assert not reply.called
    request = push.calls[0].request
    assert body_of(push) == {"to": "U1", "messages": [{"type": "text", "text": "Sorry for the wait"}]}
    assert request.headers["authorization"] == "Bearer CHANNEL-TOKEN"
    assert uuid.UUID(request.headers["x-line-retry-key"])


@respx.mock
async def test_without_a_reply_token_it_pushes(line: Line, http: httpx.AsyncClient) -> None:
    push = respx.post(f"{API}/v2/bot/message/push").mock(return_value=sent("m2"))
    assert await line.send(http, CREDS, Reply(to="Ca56f94637cc4347f90a25382909b24b9", text="hi all")) == "m2"
    assert body_of(push)["to"] == "Ca56f94637cc4347f90a25382909b24b9"


@respx.mock
async def test_a_refused_reply_token_falls_back_to_push(line: Line, http: httpx.AsyncClient) -> None:
    reply = respx.post(f"{API}/v2/bot/message/reply").mock(
        return_value=httpx.Response(400, json={"message": "Invalid reply token"})
    )
    push = respx.post(f"{API}/v2/bot/message/push").mock(return_value=sent("m3"))
    assert await line.send(http, CREDS, Reply(to="U1", text="hi", reply_token="USED")) == "m3"
    assert (reply.call_count, push.call_count) == (1, 1)


@respx.mock
async def test_a_reply_that_failed_server_side_is_not_pushed_again(line: Line, http: httpx.AsyncClient) -> None:
    reply = respx.post(f"{API}/v2/bot/message/reply").mock(return_value=httpx.Response(500))
    push = respx.post(f"{API}/v2/bot/message/push")
    with pytest.raises(TemporaryFailure):
        await line.send(http, CREDS, Reply(to="U1", text="hi", reply_token="RT1"))
    assert (reply.call_count, push.called) == (1, False)


@respx.mock
async def test_a_push_is_retried_with_the_same_retry_key(line: Line, http: httpx.AsyncClient, clock: FakeClock) -> None:
    push = respx.post(f"{API}/v2/bot/message/push").mock(side_effect=[httpx.Response(503), sent("m4")])
    assert await line.send(http, CREDS, Reply(to="U1", text="hi")) == "m4"
    keys = {call.request.headers["x-line-retry-key"] for call in push.calls}
    assert len(push.calls) == 2 and len(keys) == 1
    assert clock.sleeps == [1.0]


@respx.mock
async def test_a_retry_of_an_accepted_push_is_a_success(line: Line, http: httpx.AsyncClient) -> None:
    accepted = httpx.Response(
        409, headers={"x-line-accepted-request-id": "req-7f0e"}, json={"message": "The retry key is already accepted"}
    )
    respx.post(f"{API}/v2/bot/message/push").mock(side_effect=[httpx.Response(502), accepted])
    assert await line.send(http, CREDS, Reply(to="U1", text="hi")) == "req-7f0e"


@respx.mock
async def test_a_refused_access_token_is_an_auth_error_with_a_reason(line: Line, http: httpx.AsyncClient) -> None:
    push = respx.post(f"{API}/v2/bot/message/push").mock(
        return_value=httpx.Response(
            401,
            json={
                "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
            },
        )
    )
    with pytest.raises(AuthRejected) as caught:
        await line.send(http, CREDS, Reply(to="U1", text="hi"))
    assert push.call_count == 1
    reason = line.diagnose(caught.value)
    assert reason is not None and "access token is invalid, expired or revoked" in reason


@respx.mock
async def test_too_many_requests_on_a_send_hands_retry_after_to_the_outbox(
    line: Line, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    push = respx.post(f"{API}/v2/bot/message/push").mock(
        side_effect=[
            httpx.Response(
                429,
                headers={"retry-after": "3"},
                json={"message": "The API rate limit has been exceeded. Try again later."},
            ),
            sent("m5"),
        ]
    )
    with pytest.raises(RateLimited) as caught:
        await line.send(http, CREDS, Reply(to="U1", text="hi"))
    assert (caught.value.retry_after, push.call_count, clock.sleeps) == (3.0, 1, [])  # no send slot held asleep
    assert await line.send(http, CREDS, Reply(to="U1", text="hi")) == "m5"


@respx.mock
async def test_the_monthly_quota_is_not_retried_and_names_the_problem(line: Line, http: httpx.AsyncClient) -> None:
    push = respx.post(f"{API}/v2/bot/message/push").mock(
        return_value=httpx.Response(429, json={"message": "You have reached your monthly limit."})
    )
    with pytest.raises(RequestRejected) as caught:
        await line.send(http, CREDS, Reply(to="U1", text="hi"))
    assert push.call_count == 1
    assert "monthly message quota" in (line.diagnose(caught.value) or "")


@respx.mock
async def test_a_permission_error_is_a_channel_problem_but_a_closed_follower_list_is_not(
    line: Line, http: httpx.AsyncClient
) -> None:
    refusal = {"message": "Access to this API is not available for your account"}
    ids = respx.get(f"{API}/v2/bot/followers/ids").mock(return_value=httpx.Response(403, json=refusal))
    respx.post(f"{API}/v2/bot/message/push").mock(return_value=httpx.Response(403, json=refusal))
    stream = line.open_stream(Followers, http, CREDS)
    assert [p async for p in stream.iter_pulled()] == [] and ids.call_count == 1  # unverified: no list
    with pytest.raises(RequestRejected) as caught:
        await line.send(http, CREDS, Reply(to="U1", text="hi"))
    assert "not allowed to use this API" in (line.diagnose(caught.value) or "")


@respx.mock
async def test_profile_fetch_fills_the_sender(line: Line, http: httpx.AsyncClient) -> None:
    route = respx.get(f"{API}/v2/bot/profile/U4af4980629f1e2d3c4b5a69788796a5b").mock(
        return_value=httpx.Response(200, json=PROFILE)
    )
    sender = await line.fetch_profile(http, CREDS, "U4af4980629f1e2d3c4b5a69788796a5b")
    assert sender is not None and (sender.display_name, sender.language) == ("LINE taro", "en")
    assert route.calls[0].request.headers["authorization"] == "Bearer CHANNEL-TOKEN"
    assert await line.fetch_profile(http, CREDS, "Ca56f94637cc4347f90a25382909b24b9") is None  # a group: no call
    assert route.call_count == 1


def profile_for(request: httpx.Request) -> httpx.Response:
    user_id = request.url.path.rsplit("/", 1)[-1]
    if user_id == "U-gone":
        return httpx.Response(404, json={"message": "Not found"})
    return httpx.Response(200, json={"userId": user_id, "displayName": f"name of {user_id}"})


@respx.mock
async def test_followers_are_paged_by_next_and_profiled(
    line: Line, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    ids = respx.get(f"{API}/v2/bot/followers/ids").mock(
        side_effect=[
            httpx.Response(200, json={"userIds": ["U1", "U2", "U-gone"], "next": "yANU9IA"}),
            httpx.Response(200, json={"userIds": ["U3"]}),
        ]
    )
    respx.get(url__regex=rf"{API}/v2/bot/profile/.*").mock(side_effect=profile_for)
    follows = [item async for item in iter_new_items(line.open_stream(Followers, http, CREDS), cursor_store, "c1")]
    assert [f.sender.platform_user_id for f in follows] == ["U1", "U2", "U3"]
    assert all(
        isinstance(f, InboundFollow) and f.external_id == f"follower:{f.sender.platform_user_id}" for f in follows
    )
    assert [call.request.url.params.get("start") for call in ids.calls] == [None, "yANU9IA"]
    assert ids.calls[0].request.url.params["limit"] == "1000"


@respx.mock
async def test_a_template_reply_is_refused_without_a_call(line: Line, http: httpx.AsyncClient) -> None:
    route = respx.post(url__regex=rf"{API}/.*")
    with pytest.raises(RequestRejected) as caught:
        await line.send(http, CREDS, Reply(to="U1", text="hi", kind=ReplyKind.TEMPLATE))
    assert caught.value.code == "unsendable" and not route.called


@respx.mock
async def test_a_push_for_one_outbound_message_sends_the_same_retry_key_on_every_attempt(
    line: Line, http: httpx.AsyncClient
) -> None:
    route = respx.post(f"{API}/v2/bot/message/push").mock(
        return_value=httpx.Response(200, json={"sentMessages": [{"id": "m9", "quoteToken": "q"}]})
    )
    message = Reply(to="U1", text="hi", idempotency_key="6650f0a1b2c3d4e5f6a7b8c9")
    await line.send(http, CREDS, message)
    await line.send(http, CREDS, message)
    await line.send(http, CREDS, Reply(to="U1", text="hi", idempotency_key="6650f0a1b2c3d4e5f6a7b8ca"))
    keys = [call.request.headers["x-line-retry-key"] for call in route.calls]
    assert keys[0] == keys[1] != keys[2]
    assert all(uuid.UUID(key).version == 5 for key in keys)


@respx.mock
async def test_a_429_on_a_send_is_handed_back_at_once_for_the_outbox_to_retry(
    line: Line, http: httpx.AsyncClient
) -> None:
    route = respx.post(f"{API}/v2/bot/message/push").mock(
        return_value=httpx.Response(429, json={"message": "Too Many Requests"})
    )
    with pytest.raises(RateLimited):
        await line.send(http, CREDS, Reply(to="U1", text="hi"))
    assert route.call_count == 1

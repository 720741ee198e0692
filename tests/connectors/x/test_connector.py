"""X over a faked API v2: a DM signed with OAuth 1.0a, mentions and followers paged, x-rate-limit headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
import respx

from scrm.connectors.base import Reply, ReplyKind
from scrm.connectors.errors import AuthRejected, RateLimited, RequestRejected
from scrm.connectors.http import iter_new_items
from scrm.connectors.items import InboundComment, InboundFollow, InboundPost
from scrm.connectors.x import X
from scrm.connectors.x.streams import Followers, Mentions

from ..memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

API = "https://api.x.com"
FIXTURES = Path(__file__).parent / "fixtures"
CREDS = {
    "consumer_key": "xvz1evFS4wEEPTGEFPHBog",
    "consumer_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "access_token": "4337869213-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "access_token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    "bearer_token": "AAAA-BEARER",
    "user_id": "4337869213",
}
MENTIONS = f"{API}/2/users/4337869213/mentions"
FOLLOWERS = f"{API}/2/users/4337869213/followers"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def enc(value: str) -> str:
    return quote(value, safe="-._~")


def expected_signature(request: httpx.Request, oauth: dict[str, str]) -> str:
    """Recompute the signature from X's documented rules, independently of the code under test."""
    params = [*request.url.params.multi_items(), *((k, v) for k, v in oauth.items() if k != "oauth_signature")]
    param_string = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params))
    base_url = f"{request.url.scheme}://{request.url.host}{request.url.path}"
    base = f"{request.method}&{enc(base_url)}&{enc(param_string)}"
    key = f"{enc(CREDS['consumer_secret'])}&{enc(CREDS['access_token_secret'])}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture
def x(clock: FakeClock) -> X:
    return X(InMemoryTokenStore(), clock)


@respx.mock
async def test_a_dm_is_signed_with_oauth1_and_returns_its_event_id(
    x: X, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    created = {"data": {"dm_conversation_id": "3001969357-4337869213", "dm_event_id": "1582838568300986372"}}
    route = respx.post(f"{API}/2/dm_conversations/with/3001969357/messages").mock(
        return_value=httpx.Response(201, json=created)
    )
    assert await x.send(http, CREDS, Reply(to="3001969357", text="Thanks for writing!")) == "1582838568300986372"
    request = route.calls[0].request
    assert json.loads(request.content) == {"text": "Thanks for writing!"}
    header = request.headers["authorization"]
    assert header.startswith("OAuth ")
    oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
    assert oauth["oauth_consumer_key"] == CREDS["consumer_key"]
    assert oauth["oauth_token"] == CREDS["access_token"]
    assert (oauth["oauth_signature_method"], oauth["oauth_version"]) == ("HMAC-SHA1", "1.0")
    assert oauth["oauth_timestamp"] == str(int(clock.now().timestamp()))
    assert len(oauth["oauth_nonce"]) >= 16
    assert oauth["oauth_signature"] == expected_signature(request, oauth)


@respx.mock
async def test_each_dm_gets_a_fresh_nonce(x: X, http: httpx.AsyncClient) -> None:
    created = {"data": {"dm_conversation_id": "c", "dm_event_id": "e"}}
    route = respx.post(url__regex=rf"{API}/2/dm_conversations/with/\d+/messages").mock(
        return_value=httpx.Response(201, json=created)
    )
    await x.send(http, CREDS, Reply(to="1", text="a"))
    await x.send(http, CREDS, Reply(to="2", text="b"))
    nonces = {re.findall(r'oauth_nonce="([^"]+)"', c.request.headers["authorization"])[0] for c in route.calls}
    assert len(nonces) == 2


@respx.mock
async def test_a_refused_token_is_an_auth_error_with_a_reason(x: X, http: httpx.AsyncClient) -> None:
    route = respx.post(f"{API}/2/dm_conversations/with/1/messages").mock(
        return_value=httpx.Response(
            401, json={"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        )
    )
    with pytest.raises(AuthRejected) as caught:
        await x.send(http, CREDS, Reply(to="1", text="a"))
    assert route.call_count == 1
    assert "invalid or revoked" in (x.diagnose(caught.value) or "")


@respx.mock
async def test_an_app_outside_a_project_is_a_channel_problem(x: X, http: httpx.AsyncClient) -> None:
    respx.get(MENTIONS).mock(
        return_value=httpx.Response(
            403,
            json={
                "title": "Client Forbidden",
                "reason": "client-not-enrolled",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
            },
        )
    )
    with pytest.raises(RequestRejected) as caught:
        [p async for p in x.open_stream(Mentions, http, CREDS).iter_pulled()]
    assert caught.value.code == "client-not-enrolled"
    assert "lacks access" in (x.diagnose(caught.value) or "")


@respx.mock
async def test_a_dm_over_the_limit_is_rate_limited_until_reset(x: X, http: httpx.AsyncClient, clock: FakeClock) -> None:
    reset = int(clock.now().timestamp()) + 600
    headers = {"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    route = respx.post(f"{API}/2/dm_conversations/with/1/messages").mock(
        return_value=httpx.Response(429, headers=headers, json={"title": "Too Many Requests"})
    )
    with pytest.raises(RateLimited) as caught:
        await x.send(http, CREDS, Reply(to="1", text="a"))
    assert caught.value.retry_after == pytest.approx(600)
    assert route.call_count == 1 and clock.sleeps == []


def page_with(headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, headers=headers, json=body)


@respx.mock
async def test_mentions_page_with_pagination_token_and_resume_from_since_id(
    x: X, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    last_page = {
        "data": [
            {
                "id": "2006700000000000010",
                "text": "@Harris_0ff hi",
                "author_id": "9",
                "created_at": "2026-01-01T09:00:00.000Z",
            }
        ],
        "meta": {"result_count": 1},
    }
    route = respx.get(MENTIONS).mock(
        side_effect=[
            httpx.Response(200, json=fixture("mentions_page.json")),
            httpx.Response(200, json=last_page),
            httpx.Response(200, json={"meta": {"result_count": 0}}),
        ]
    )
    stream = x.open_stream(Mentions, http, CREDS)
    items = [item async for item in iter_new_items(stream, cursor_store, "c1")]
    assert [type(i) for i in items] == [InboundPost, InboundComment, InboundPost]
    assert isinstance(items[0], InboundPost) and items[0].author.username == "furiouscamper"
    assert isinstance(items[1], InboundComment) and items[1].post_id == "2006600000000000000"
    first, second = (call.request for call in route.calls[:2])
    assert first.headers["authorization"] == "Bearer AAAA-BEARER"
    assert "since_id" not in first.url.params and first.url.params["expansions"] == "author_id"
    assert second.url.params["pagination_token"] == "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"
    assert cursor_store.cursors[("c1", "mentions")] == 2006700000000000012
    [item async for item in iter_new_items(x.open_stream(Mentions, http, CREDS), cursor_store, "c1")]
    assert route.calls[2].request.url.params["since_id"] == "2006700000000000012"


@respx.mock
async def test_a_used_up_quota_pauses_the_next_page_until_reset(
    x: X, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    reset = int(clock.now().timestamp()) + 30
    exhausted = {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    route = respx.get(FOLLOWERS).mock(
        side_effect=[page_with(exhausted, fixture("followers_page.json")), page_with({}, {"meta": {"result_count": 0}})]
    )
    follows = [p.item async for p in x.open_stream(Followers, http, CREDS).iter_pulled()]
    assert [f.sender.username for f in follows] == ["furiouscamper", "XDevelopers"]
    assert all(isinstance(f, InboundFollow) and f.external_id.endswith(":4337869213") for f in follows)
    assert route.call_count == 2
    assert route.calls[1].request.url.params["pagination_token"] == "DFEDBNRFT3MHCZZZ"
    assert clock.sleeps == [pytest.approx(30)]


@respx.mock
async def test_a_quota_resetting_far_ahead_stops_the_pull(x: X, http: httpx.AsyncClient, clock: FakeClock) -> None:
    reset = int(clock.now().timestamp()) + 900
    exhausted = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    route = respx.get(FOLLOWERS).mock(return_value=page_with(exhausted, fixture("followers_page.json")))
    stream = x.open_stream(Followers, http, CREDS)
    with pytest.raises(RateLimited) as caught:
        [p async for p in stream.iter_pulled()]
    assert route.call_count == 1 and caught.value.retry_after == pytest.approx(900)


@respx.mock
async def test_too_many_requests_waits_until_the_reset_header(x: X, http: httpx.AsyncClient, clock: FakeClock) -> None:
    reset = int(clock.now().timestamp()) + 12
    limited = httpx.Response(429, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    route = respx.get(FOLLOWERS).mock(side_effect=[limited, page_with({}, {"meta": {"result_count": 0}})])
    assert [p async for p in x.open_stream(Followers, http, CREDS).iter_pulled()] == []
    assert route.call_count == 2 and clock.sleeps == [pytest.approx(12)]


@respx.mock
async def test_a_comment_reply_is_a_public_reply_post(x: X, http: httpx.AsyncClient) -> None:
    route = respx.post(f"{API}/2/tweets").mock(
        return_value=httpx.Response(201, json={"data": {"id": "2006700000000000099", "text": "@furiouscamper yes!"}})
    )
    reply = Reply(to="2006700000000000001", text="@furiouscamper yes!", kind=ReplyKind.COMMENT)
    assert await x.send(http, CREDS, reply) == "2006700000000000099"
    request = route.calls[0].request
    assert json.loads(request.content) == {
        "text": "@furiouscamper yes!",
        "reply": {"in_reply_to_tweet_id": "2006700000000000001"},
    }
    oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', request.headers["authorization"])}
    assert oauth["oauth_signature"] == expected_signature(request, oauth)


@respx.mock
async def test_a_private_reply_to_a_post_is_refused_without_a_call(x: X, http: httpx.AsyncClient) -> None:
    route = respx.post(url__regex=rf"{API}/.*")
    with pytest.raises(RequestRejected) as caught:
        await x.send(http, CREDS, Reply(to="2006700000000000001", text="hi", kind=ReplyKind.PRIVATE_REPLY))
    assert caught.value.code == "unsendable" and not route.called


@respx.mock
async def test_the_token_check_names_a_refused_token_and_a_token_of_another_account(
    x: X, http: httpx.AsyncClient
) -> None:
    me = respx.get(f"{API}/2/users/me").mock(
        side_effect=[
            httpx.Response(200, json={"data": {"id": CREDS["user_id"], "name": "Harrison", "username": "Harris_0ff"}}),
            httpx.Response(200, json={"data": {"id": "999", "name": "Someone", "username": "someone"}}),
            httpx.Response(401, json={"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}),
        ]
    )
    assert await x.check_credentials(http, CREDS) is None
    assert (await x.check_credentials(http, CREDS) or "").startswith("x: the access token belongs to account 999")
    assert (await x.check_credentials(http, CREDS) or "").startswith("x: the bearer token or the account's access")
    assert me.calls[0].request.headers["authorization"].startswith("OAuth ")

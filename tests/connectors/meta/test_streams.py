"""Pulling from a faked Graph API: paging, resuming, nested lists, usage headers and refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.errors import AuthRejected, PermissionDenied, RateLimited
from scrm.connectors.http import iter_new_items
from scrm.connectors.items import InboundComment, InboundMessage, InboundPost
from scrm.connectors.meta import Meta
from scrm.connectors.meta.graph import GRAPH_URL
from scrm.connectors.meta.streams import (
    InstagramComments,
    InstagramMedia,
    PageComments,
    PageConversations,
    PagePosts,
)

from ..memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

RECORDS: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).parent / "fixtures" / "graph_records.json").read_text()
)
CREDS = {
    "app_secret": "app-secret",
    "verify_token": "verify",
    "page_id": "682498171943165",
    "page_access_token": "PAGE_TOKEN",
    "instagram_account_id": "17841405822304914",
    "whatsapp_token": "WA_TOKEN",
    "whatsapp_business_account_id": "102290129340398",
}
POSTS = f"{GRAPH_URL}/682498171943165/posts"


@pytest.fixture
def meta(clock: FakeClock) -> Meta:
    return Meta(InMemoryTokenStore(), clock)


def page(records: list[Any], next_url: str | None = None, **headers: str) -> httpx.Response:
    paging: dict[str, Any] = {"cursors": {"before": "B", "after": "A"}}
    if next_url:
        paging["next"] = next_url
    return httpx.Response(200, json={"data": records, "paging": paging}, headers=headers)


def post(n: int) -> dict[str, Any]:
    return {"id": f"682498171943165_{n}", "message": f"post {n}", "created_time": f"2026-01-0{n}T10:00:00+0000"}


def graph_error(
    code: int, subcode: int | None = None, status: int = 400, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"message": f"(#{code}) refused", "type": "OAuthException", "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    return httpx.Response(status, json={"error": body}, headers=headers or {})


@respx.mock
async def test_posts_follow_paging_next_and_pause_when_usage_nears_the_limit(
    meta: Meta, http: httpx.AsyncClient, clock: FakeClock, cursor_store: InMemoryCursorStore
) -> None:
    usage = {"X-App-Usage": json.dumps({"call_count": 97, "total_cputime": 5, "total_time": 8})}
    second = f"{POSTS}?after=A&limit=100"
    route = respx.get(POSTS).mock(side_effect=[page([post(3), post(2)], second, **usage), page([post(1)])])
    stream = meta.open_stream(PagePosts, http, CREDS)
    items = [item async for item in iter_new_items(stream, cursor_store, "chan")]
    assert [item.external_id for item in items] == [f"facebook:682498171943165_{n}" for n in (3, 2, 1)]
    assert all(isinstance(item, InboundPost) for item in items)
    assert clock.sleeps == [60.0]  # 97 % used: wait before asking for the next page
    assert [call.request.url.params.get("after") for call in route.calls] == [None, "A"]
    assert {call.request.headers["authorization"] for call in route.calls} == {"Bearer PAGE_TOKEN"}
    assert "access_token" not in str(route.calls[0].request.url)
    assert cursor_store.cursors[("chan", "page_posts")] == "2026-01-03T10:00:00+0000"


@respx.mock
async def test_a_saved_cursor_resumes_with_since_in_epoch_seconds(
    meta: Meta, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    await cursor_store.save_cursor("chan", "page_posts", "2026-01-02T10:00:00+0000")
    route = respx.get(POSTS).mock(return_value=page([post(3), post(2)]))
    stream = meta.open_stream(PagePosts, http, CREDS)
    items = [item async for item in iter_new_items(stream, cursor_store, "chan")]
    assert len(items) == 2  # the boundary post comes again; ingest absorbs it
    assert route.calls[0].request.url.params["since"] == "1767348000"


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
@respx.mock
async def test_throttling_codes_stop_the_pull_as_rate_limited(meta: Meta, http: httpx.AsyncClient, code: int) -> None:
    route = respx.get(POSTS).mock(return_value=graph_error(code, status=403 if code == 4 else 400))
    with pytest.raises(RateLimited) as raised:
        [item async for item in meta.open_stream(PagePosts, http, CREDS).iter_pulled()]
    assert raised.value.retry_after == 300.0
    assert route.call_count == 1


@respx.mock
async def test_regain_estimate_in_the_usage_header_becomes_the_retry_delay(meta: Meta, http: httpx.AsyncClient) -> None:
    buc = {"682498171943165": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 12}]}
    respx.get(POSTS).mock(return_value=graph_error(80001, headers={"X-Business-Use-Case-Usage": json.dumps(buc)}))
    with pytest.raises(RateLimited) as raised:
        [item async for item in meta.open_stream(PagePosts, http, CREDS).iter_pulled()]
    assert raised.value.retry_after == 720.0


@respx.mock
async def test_expired_token_is_an_auth_error_the_channel_can_show(meta: Meta, http: httpx.AsyncClient) -> None:
    route = respx.get(POSTS).mock(return_value=graph_error(190, 463))
    with pytest.raises(AuthRejected) as raised:
        [item async for item in meta.open_stream(PagePosts, http, CREDS).iter_pulled()]
    assert route.call_count == 1  # a Page token cannot be refreshed here: no second try
    assert raised.value.code == "190/463"
    reason = meta.diagnose(raised.value)
    assert reason is not None and "expired" in reason


@respx.mock
async def test_missing_permission_is_named(meta: Meta, http: httpx.AsyncClient) -> None:
    respx.get(POSTS).mock(return_value=graph_error(200, status=403))
    with pytest.raises(PermissionDenied):
        [item async for item in meta.open_stream(PagePosts, http, CREDS).iter_pulled()]


@respx.mock
async def test_temporary_errors_are_retried(meta: Meta, http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(POSTS).mock(side_effect=[graph_error(2, status=500), page([post(1)])])
    items = [pulled.item async for pulled in meta.open_stream(PagePosts, http, CREDS).iter_pulled()]
    assert len(items) == 1
    assert clock.sleeps == [1.0]


@respx.mock
async def test_comments_of_each_post_are_followed_until_older_than_the_cursor(
    meta: Meta, http: httpx.AsyncClient
) -> None:
    respx.get(POSTS).mock(return_value=page([{"id": "682498171943165_1"}]))
    comments_url = f"{GRAPH_URL}/682498171943165_1/comments"
    older_page = f"{comments_url}?after=A"
    newest = [
        {
            "id": "1_3",
            "message": "third",
            "created_time": "2026-01-03T10:00:00+0000",
            "from": {"id": "1254459154682919"},
        },
        {"id": "1_2", "message": "second", "created_time": "2026-01-02T10:00:00+0000", "from": {"id": "77"}},
    ]
    comments = respx.get(comments_url).mock(return_value=page(newest, older_page))
    stream = meta.open_stream(PageComments, http, CREDS)
    items = [pulled.item async for pulled in stream.iter_pulled("2026-01-02T12:00:00+0000")]
    assert [item.external_id for item in items] == ["facebook:1_3"]
    assert comments.call_count == 1  # the page already reached comments older than the cursor
    assert comments.calls[0].request.url.params["order"] == "reverse_chronological"
    first = items[0]
    assert isinstance(first, InboundComment)
    assert (first.post_id, first.sender.platform_user_id) == ("facebook:682498171943165_1", "facebook:1254459154682919")


@respx.mock
async def test_conversation_messages_leave_out_the_pages_own(meta: Meta, http: httpx.AsyncClient) -> None:
    conversation = {"id": "t_1", "messages": {"data": RECORDS["page_conversations"], "paging": {}}}
    route = respx.get(f"{GRAPH_URL}/682498171943165/conversations").mock(return_value=page([conversation]))
    items = [pulled.item async for pulled in meta.open_stream(PageConversations, http, CREDS).iter_pulled()]
    (message,) = items
    assert isinstance(message, InboundMessage)
    assert message.conversation_id == "facebook:1254459154682919"
    assert route.calls[0].request.url.params["platform"] == "messenger"


@respx.mock
async def test_instagram_media_and_comments_with_replies(meta: Meta, http: httpx.AsyncClient) -> None:
    media_url = f"{GRAPH_URL}/17841405822304914/media"
    respx.get(media_url).mock(return_value=page(RECORDS["instagram_media"]))
    media = [pulled.item async for pulled in meta.open_stream(InstagramMedia, http, CREDS).iter_pulled()]
    assert [m.external_id for m in media] == ["instagram:17887498072083520"]

    reply = {"id": "c2", "text": "Same question", "timestamp": "2026-01-01T09:15:00+0000", "username": "noor",
             "from": {"id": "17841401234567891"}, "parent_id": "c1"}  # fmt: skip
    ours = {"id": "c3", "text": "49 EUR", "timestamp": "2026-01-01T09:20:00+0000", "username": "atelier.bleu",
            "from": {"id": "17841405822304914"}, "parent_id": "c1"}  # fmt: skip
    comment = {"id": "c1", "text": "Price?", "timestamp": "2026-01-01T09:10:00+0000", "username": "camille.m",
               "from": {"id": "17841401234567890"}, "replies": {"data": [reply, ours]}}  # fmt: skip
    respx.get(f"{GRAPH_URL}/17887498072083520/comments").mock(return_value=page([comment]))
    found = [pulled.item async for pulled in meta.open_stream(InstagramComments, http, CREDS).iter_pulled()]
    # the account's own reply (c3) is left out, as from the webhook: the outbox records ours
    assert [(c.external_id, c.parent_id) for c in found] == [("instagram:c1", ""), ("instagram:c2", "instagram:c1")]
    assert all(c.post_id == "instagram:17887498072083520" for c in found)


@respx.mock
async def test_templates_are_listed_page_by_page_with_the_whatsapp_token(meta: Meta, http: httpx.AsyncClient) -> None:
    url = f"{GRAPH_URL}/102290129340398/message_templates"
    first = [{"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY"}]
    second = [{"name": "welcome", "language": "fr", "status": "PENDING", "category": "MARKETING"}]
    route = respx.get(url).mock(side_effect=[page(first, f"{url}?after=A"), page(second)])
    templates = await meta.list_templates(http, CREDS)
    assert [(t.name, t.language, t.status) for t in templates] == [
        ("order_update", "en_US", "APPROVED"),
        ("welcome", "fr", "PENDING"),
    ]
    assert {call.request.headers["authorization"] for call in route.calls} == {"Bearer WA_TOKEN"}

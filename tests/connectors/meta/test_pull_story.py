"""The Meta pull story: Page posts and comments, Messenger and Instagram conversations, Instagram media and
comments, pulled from the Graph API's side (``graph_server``) into MongoDB and read back through the API.

Paging is cursor-based (25 records a page at most, ``paging.next`` followed), later pulls ask with ``since``,
usage headers near 100 % and throttling codes make the pull back off, and an expired token (190) marks the
channel unhealthy with the reason until it is re-authorised; the pull after that fills in what was missed,
without duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.pulling import SyncResult
from scrm.settings import Settings
from scrm.sync import sync_channel
from scrm.worker import pipeline_context
from tests.connectors.memory import START, FakeClock
from tests.connectors.meta.graph_server import GraphServer
from tests.connectors.meta.stories import CAMILLE, CREDENTIALS, NOOR, PAGE_ID, graph_server
from tests.platform_fakes import TestChannel as StoredChannel
from tests.platform_fakes import api_headers
from tests.story_fixtures import mounted

LUC = ("3330000000000003", "Luc Bernard")
SAM = ("4440000000000004", "Sam Lee")
POSTS, MEDIA = 60, 30


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    """The Graph API's side of HTTP, on the fake clock's time."""
    with mounted(graph_server(START)) as server:
        yield server


def day(n: float) -> datetime:
    """``n`` days before the pull (the fake clock's start)."""
    return START - timedelta(days=n)


def stock(graph: GraphServer) -> dict[str, str]:
    """A Page with 60 posts over 20 days, 30 comments on the newest, conversations and Instagram media."""
    posts = [graph.add_post(n, day(20 - n / 3)) for n in range(1, POSTS + 1)]
    newest = posts[-1]
    for n in range(1, 31):
        who = CAMILLE if n % 2 else LUC
        graph.add_comment(newest, n, day(0.5) + timedelta(minutes=n), who)
    graph.add_comment(posts[-2], 31, day(1), CAMILLE)
    graph.add_comment(posts[-2], 32, day(0.9), (PAGE_ID, "Cafe Lumiere"))  # the Page's own: not anyone's comment
    graph.add_message("messenger", CAMILLE, 1, day(2))
    graph.add_message("messenger", CAMILLE, 2, day(1))
    graph.add_message("messenger", SAM, 3, day(3))
    graph.add_message("instagram", NOOR, 4, day(1))
    media = [graph.add_media(n, day(15 - n / 3)) for n in range(1, MEDIA + 1)]
    graph.add_ig_comment(media[-1], 1, day(0.2), NOOR)
    graph.add_ig_comment(media[-1], 2, day(0.1), NOOR)
    return {"newest_post": newest, "newest_media": media[-1]}


async def pull(settings: Settings, clock: FakeClock, channel: StoredChannel) -> SyncResult:
    """Pull every stream of the channel once, as `scrm sync` does."""
    async with httpx.AsyncClient() as http:
        context = pipeline_context(settings, clock.now)
        buckets = ChannelBuckets(SystemClock())
        return await sync_channel(context, http, str(channel.id), buckets=buckets, clock=clock)


async def listed(client: httpx.AsyncClient, headers: dict[str, str], resource: str) -> list[dict[str, Any]]:
    """Every item of an API collection (200 a page)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "200"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/api/v1/{resource}", params=params, headers=headers)).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def counts(result: SyncResult) -> dict[str, tuple[int, str]]:
    return {s.stream: (s.new, s.failed) for s in result.streams}


async def test_a_backfill_pages_through_everything_backs_off_near_the_limit_and_lands_once_in_the_api(
    client: httpx.AsyncClient, settings: Settings, graph: GraphServer, channel: StoredChannel, clock: FakeClock
) -> None:
    stock(graph)
    graph.usage = {"X-App-Usage": json.dumps({"call_count": 97, "total_cputime": 12, "total_time": 20})}

    result = await pull(settings, clock, channel)

    assert result.unhealthy == "" and result.problem == ""
    assert counts(result) == {
        "page_posts": (60, ""),
        "page_comments": (31, ""),
        "page_conversations": (3, ""),
        "instagram_conversations": (1, ""),
        "instagram_media": (30, ""),
        "instagram_comments": (2, ""),
    }
    posts_asked = [
        r
        for r in graph.requests
        if r.url.path.endswith(f"/{PAGE_ID}/posts") and "message" in r.url.params.get("fields", "")
    ]
    assert [r.url.params.get("after") for r in posts_asked] == [None, "25", "50"]  # paging.next followed to the end
    assert 60.0 in clock.sleeps  # 97 % of the app's quota: a minute's pause before each next call

    headers = await api_headers(channel.workspace_id)
    assert len(await listed(client, headers, "posts")) == POSTS + MEDIA
    comments = await listed(client, headers, "comments")
    assert len(comments) == 33 and len({c["external_id"] for c in comments}) == 33
    contacts = await listed(client, headers, "contacts")
    keys = {i["external_id"] for c in contacts for i in c["identities"]}
    assert keys == {f"facebook:{CAMILLE[0]}", f"facebook:{LUC[0]}", f"facebook:{SAM[0]}", f"instagram:{NOOR[0]}"}
    assert len(contacts) == 4  # Camille's comments and messages are one person
    conversations = await listed(client, headers, "conversations")
    assert len(conversations) == 3
    messages = await listed(client, headers, "messages")
    assert sorted(m["text"] for m in messages) == ["message 1", "message 2", "message 3", "message 4"]

    asked_before = len(graph.requests)
    again = await pull(settings, clock, channel)
    assert {s.stream: s.new for s in again.streams} == dict.fromkeys(counts(result), 0)
    later = [r for r in graph.requests[asked_before:] if r.url.path.endswith(f"/{PAGE_ID}/posts")]
    assert later and all(r.url.params.get("since") for r in later)  # later pulls ask only since the saved cursor


async def test_throttling_ends_the_stream_for_later_and_the_next_pull_resumes(
    settings: Settings, graph: GraphServer, channel: StoredChannel, clock: FakeClock
) -> None:
    stock(graph)
    graph.refuse(
        613, message="(#613) Calls to this api have exceeded the rate limit.", path=f"/{PAGE_ID}/posts", method="GET"
    )
    usage = [
        {
            "type": "pages",
            "call_count": 100,
            "total_cputime": 12,
            "total_time": 20,
            "estimated_time_to_regain_access": 2,
        }
    ]
    graph.usage = {"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: usage})}
    first = await pull(settings, clock, channel)
    failed = {s.stream: s.failed for s in first.streams if s.failed}
    assert "(#613)" in failed["page_posts"] and "rate limited" in failed["page_posts"]
    assert "rate limited for 120 s" in failed["instagram_media"]  # Meta's estimate: 2 minutes, too long to wait
    assert first.unhealthy == ""
    graph.usage = {}
    second = await pull(settings, clock, channel)
    assert counts(second)["page_posts"] == (60, "")
    # the page read before the pause was kept; the next pull asked from its cursor for the rest, once each
    assert counts(first)["instagram_media"][0] + counts(second)["instagram_media"][0] == MEDIA
    assert counts(second)["instagram_media"][1] == ""


async def test_an_expired_token_marks_the_channel_unhealthy_and_after_reauthorising_the_gap_is_filled_once(
    client: httpx.AsyncClient, settings: Settings, graph: GraphServer, channel: StoredChannel, clock: FakeClock
) -> None:
    ids = stock(graph)
    await pull(settings, clock, channel)
    headers = await api_headers(channel.workspace_id)
    before = {name: len(await listed(client, headers, name)) for name in ("posts", "comments", "contacts", "messages")}

    graph.tokens.discard(CREDENTIALS["page_access_token"])
    clock.advance(3600)
    graph.add_post(POSTS + 1, START + timedelta(minutes=30), "new post while the token was dead")
    graph.add_comment(ids["newest_post"], 40, START + timedelta(minutes=31), LUC, "still in stock?")
    graph.add_message("messenger", SAM, 5, START + timedelta(minutes=32), "hello again")
    graph.add_ig_comment(ids["newest_media"], 3, START + timedelta(minutes=33), NOOR)

    broken = await pull(settings, clock, channel)
    assert "expired" in broken.unhealthy
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy" and "the access token expired" in shown["status_reason"]

    graph.tokens.add("PAGE-TOKEN-2")
    patch = {"credentials": {"page_access_token": "PAGE-TOKEN-2"}}
    assert (await client.patch(f"/api/v1/channels/{channel.id}", json=patch, headers=headers)).status_code == 200
    clock.advance(60)
    healed = await pull(settings, clock, channel)
    assert healed.unhealthy == "" and healed.problem == ""
    after = {name: len(await listed(client, headers, name)) for name in ("posts", "comments", "contacts", "messages")}
    assert after == {
        "posts": before["posts"] + 1,
        "comments": before["comments"] + 2,
        "contacts": before["contacts"],
        "messages": before["messages"] + 1,
    }
    texts = {c["text"] for c in await listed(client, headers, "comments")}
    assert "still in stock?" in texts and "ig comment 3" in texts
    assert {s.stream: s.new for s in (await pull(settings, clock, channel)).streams} == dict.fromkeys(
        [s.stream for s in healed.streams], 0
    )

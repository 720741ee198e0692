"""Pulling an X account: mentions by since_id and pagination_token, followers, rate limits, a revoked token.

X's side is the local API fake (``tests/connectors/x/x_server``) on the test's clock; what the pull recorded is
read back through the product's API (contacts, posts, comments, a contact's timeline).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from scrm.db import Database
from scrm.models import Channel, ChannelStatus, Comment, Contact, Follow, Post, SyncCursor
from scrm.settings import Settings
from scrm.worker import pipeline_context
from tests.connectors.memory import FakeClock
from tests.connectors.x.x_server import XServer, channel_server
from tests.platform_fakes import X_CREDENTIALS, api_headers, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .conftest import Puller

PEOPLE = 1_150
"""Followers: two pages of 1000 (``max_results`` 1000)."""


@pytest.fixture
def x(platform: respx.MockRouter, clock: FakeClock) -> XServer:
    server = channel_server(lambda: clock.now().timestamp())
    for n in range(PEOPLE):
        server.add_user(str(5_000_000 + n), f"Person {n}", f"person{n}")
        server.follow(str(5_000_000 + n))
    for n in range(130):  # two pages of 100; every tenth answers an earlier post of ours
        replied = "2006600000000000000" if n % 10 == 0 else ""
        server.mention(str(5_000_000 + n % 40), f"@Harris_0ff question {n}", replied)
    server.mount(platform)
    return server


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("x", X_CREDENTIALS)


@pytest.fixture
async def api(client: httpx.AsyncClient, channel: StoredChannel) -> AsyncIterator[Any]:
    headers = await api_headers(channel.workspace_id)

    async def every(path: str, **params: str) -> list[dict[str, Any]]:
        """Every item of an API list, page after page."""
        items: list[dict[str, Any]] = []
        cursor: str | None = ""
        while cursor is not None:
            query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
            page = (await client.get(f"/api/v1/{path}", params=query, headers=headers)).json()
            items.extend(page["items"])
            cursor = page["next_cursor"]
        return items

    yield every


async def saved_since_id(channel: StoredChannel) -> int | str | None:
    cursor = await SyncCursor.find_one({"channel_id": channel.id, "stream": "mentions"})
    return None if cursor is None else cursor.value


def mention_calls(x: XServer) -> list[dict[str, str]]:
    return [params for endpoint, params in x.calls if endpoint == "mentions"]


async def test_a_backfill_pages_mentions_and_followers_and_a_second_pull_asks_only_for_newer_mentions(
    x: XServer, channel: StoredChannel, pull: Puller, api: Any
) -> None:
    result = await pull()
    mentions, followers = result.streams
    assert (mentions.stream, mentions.pulled, mentions.new, mentions.failed) == ("mentions", 130, 130, "")
    assert (followers.stream, followers.pulled, followers.new, followers.failed) == ("followers", PEOPLE, PEOPLE, "")
    newest = max(post.id for post in x.mentions)
    assert await saved_since_id(channel) == newest
    assert [("since_id" in c, "pagination_token" in c) for c in mention_calls(x)] == [(False, False), (False, True)]
    follower_pages = [params for endpoint, params in x.calls if endpoint == "followers"]
    assert [p.get("max_results") for p in follower_pages] == ["1000", "1000"]

    posts = await api("posts", channel_id=str(channel.id))
    comments = await api("comments", channel_id=str(channel.id))
    assert len(posts) == 117 and len(comments) == 13  # replies to our post are comments on it
    assert {c["post_external_id"] for c in comments} == {"2006600000000000000"}
    contacts = await api("contacts")
    assert len(contacts) == PEOPLE and {c["name"] for c in contacts} >= {"Person 0", f"Person {PEOPLE - 1}"}
    person = next(c for c in contacts if c["name"] == "Person 7")
    timeline = await api(f"contacts/{person['id']}/timeline")
    assert {item["kind"] for item in timeline} >= {"follow"}

    x.mention("5000003", "@Harris_0ff one more thing")
    x.mention("5000004", "@Harris_0ff and another")
    x.add_user("6000001", "New Follower", "newfollower")
    x.follow("6000001")
    again = await pull()
    assert (again.streams[0].pulled, again.streams[0].new) == (2, 2)
    assert mention_calls(x)[-1]["since_id"] == str(newest)
    assert (again.streams[1].pulled, again.streams[1].new) == (PEOPLE + 1, 1)  # the standing ones are kept once
    assert await Post.find(Post.channel_id == channel.id).count() == 119
    assert await Follow.count() == PEOPLE + 1 and await Contact.count() == PEOPLE + 1


async def test_a_spent_rate_limit_window_stops_the_stream_until_its_reset_and_the_rerun_adds_no_duplicates(
    x: XServer, channel: StoredChannel, pull: Puller, clock: FakeClock
) -> None:
    x.use_up("mentions", reset_in=900)
    x.windows["mentions"].remaining = 1  # the first page, then the window is spent
    result = await pull()
    mentions, followers = result.streams
    assert mentions.pulled == 100 and mentions.new == 100
    assert mentions.failed.startswith("rate limited for 900 s") and mentions.unhealthy == ""
    assert followers.failed == "" and followers.new == PEOPLE  # another endpoint, another window
    assert await saved_since_id(channel) is None  # newest first: the backfill is not done, so no cursor yet
    assert len(mention_calls(x)) == 1  # the empty window was respected: no call spent on a sure 429

    stopped = await pull()  # still inside the window: X answers 429 with the reset
    assert stopped.streams[0].failed.startswith("rate limited") and stopped.streams[0].new == 0
    assert len(mention_calls(x)) == 2

    clock.advance(901)
    rerun = await pull()
    assert (rerun.streams[0].pulled, rerun.streams[0].new, rerun.streams[0].failed) == (130, 30, "")
    assert await Post.count() + await Comment.count() == 130
    assert await saved_since_id(channel) == max(post.id for post in x.mentions)
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE  # a rate limit needs nobody


async def test_a_revoked_token_marks_the_channel_unhealthy_and_a_reauthorised_one_resumes_without_duplicates(
    x: XServer, channel: StoredChannel, pull: Puller, client: httpx.AsyncClient, settings: Settings, clock: FakeClock
) -> None:
    first = await pull()
    assert first.streams[0].new == 130
    x.mention("5000002", "@Harris_0ff are you there?")
    x.revoked = True

    refused = await pull()
    reason = "x: the bearer token or the account's access token is invalid or revoked"
    assert refused.unhealthy.startswith(reason)
    assert [s.stream for s in refused.streams] == ["mentions"]  # the pull stops at the first refusal
    headers = await api_headers(channel.workspace_id)
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy" and shown["status_reason"].startswith(reason)

    x.reauthorise("4337869213-renewed", "renewed-secret", "renewed-bearer")
    renewed = {"access_token": "4337869213-renewed", "access_token_secret": "renewed-secret"}
    renewed |= {"bearer_token": "renewed-bearer"}
    patched = await client.patch(f"/api/v1/channels/{channel.id}", json={"credentials": renewed}, headers=headers)
    assert patched.status_code == 200 and patched.json()["status"] == "active"

    # the worker reads the new credentials once its channel cache (a few seconds) has passed: a fresh context
    later = Puller(pipeline_context(settings, clock.now), pull.http, pull.buckets, clock, pull.channel_id)
    resumed = await later()
    assert resumed.unhealthy == "" and (resumed.streams[0].pulled, resumed.streams[0].new) == (1, 1)
    assert resumed.streams[1].new == 0
    assert await Post.count() + await Comment.count() == 131 and await Follow.count() == PEOPLE

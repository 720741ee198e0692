"""Pulling a LINE Official Account: follower ids paged by `start`, profiles, rate limits, a revoked token.

What LINE lets a bot pull is its followers (verified or premium accounts only) and their profiles; there is no
message history (line.md d). LINE's side is the local API fake (``tests/connectors/line/line_server``); what the
pull recorded is read back through the product's API.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from scrm.db import Database
from scrm.models import Contact, Follow
from scrm.settings import Settings
from scrm.worker import pipeline_context
from tests.connectors.line.line_server import BOT_USER_ID, LineServer
from tests.connectors.memory import FakeClock
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import LINE_CREDENTIALS, api_headers, line_headers, make_channel
from tests.platform_fakes import TestChannel as StoredChannel

from .conftest import Puller
from .fakes import RecordingObserver

FOLLOWERS = 1_200
"""Two pages of follower ids at LINE's largest `limit`, 1000."""


def user(n: int) -> str:
    return f"U{n:032x}"


@pytest.fixture
def line(platform: respx.MockRouter) -> LineServer:
    server = LineServer(LINE_CREDENTIALS["channel_access_token"], page_size=1000)
    for n in range(FOLLOWERS):
        server.add_user(user(n), f"友だち{n}")
    server.mount(platform)
    return server


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("line", LINE_CREDENTIALS)


async def contacts_through_the_api(client: httpx.AsyncClient, channel: StoredChannel) -> list[dict[str, Any]]:
    headers = await api_headers(channel.workspace_id)
    items: list[dict[str, Any]] = []
    cursor: str | None = ""
    while cursor is not None:
        query = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/contacts", params=query, headers=headers)).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
    return items


async def test_a_backfill_pages_by_start_fetches_every_profile_and_a_second_pull_adds_only_the_new_follower(
    line: LineServer, channel: StoredChannel, pull: Puller, client: httpx.AsyncClient
) -> None:
    result = await pull()
    (stream,) = result.streams
    assert (stream.stream, stream.pulled, stream.new, stream.failed) == ("followers", FOLLOWERS, FOLLOWERS, "")
    assert line.follower_starts == ["", "cursor-1000"]
    assert await Follow.find(Follow.channel_id == channel.id).count() == FOLLOWERS
    contacts = await contacts_through_the_api(client, channel)
    assert len(contacts) == FOLLOWERS
    assert {c["name"] for c in contacts} == {f"友だち{n}" for n in range(FOLLOWERS)}
    assert {c["identities"][0]["external_id"] for c in contacts} == {user(n) for n in range(FOLLOWERS)}

    line.add_user(user(FOLLOWERS), "新しい友だち")
    again = await pull()
    assert (again.streams[0].pulled, again.streams[0].new) == (FOLLOWERS + 1, 1)
    assert await Contact.count() == FOLLOWERS + 1 and await Follow.count() == FOLLOWERS + 1


async def test_a_follower_who_wrote_first_gets_the_name_and_picture_of_their_profile(
    line: LineServer,
    channel: StoredChannel,
    pull: Puller,
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    event = line.message_event(user(7), "こんにちは")
    body = json.dumps({"destination": BOT_USER_ID, "events": [event]}).encode()
    response = await client.post(f"/webhooks/line/{channel.id}", content=body, headers=line_headers(body))
    assert response.status_code == 200
    await drain(settings)
    [nameless] = await Contact.find_all().to_list()
    assert nameless.name == "" and nameless.avatar_url == ""

    await pull()

    stored = await Contact.get(nameless.id)
    assert stored is not None and stored.name == "友だち7"
    assert stored.avatar_url == line.profiles[user(7)]["pictureUrl"]
    assert await Contact.count() == FOLLOWERS  # the writer is one of the followers, not a second contact


async def test_an_account_that_is_neither_verified_nor_premium_pulls_no_list_and_stays_healthy(
    line: LineServer, channel: StoredChannel, pull: Puller, client: httpx.AsyncClient
) -> None:
    line.verified = False
    result = await pull()
    (stream,) = result.streams
    assert (stream.pulled, stream.failed, result.unhealthy) == (0, "", "")
    assert line.refused == [("/v2/bot/followers/ids", 403)]
    headers = await api_headers(channel.workspace_id)
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "active"


async def test_rate_limits_are_waited_out_briefly_or_end_the_pull_and_a_rerun_stores_nothing_twice(
    line: LineServer, channel: StoredChannel, pull: Puller, client: httpx.AsyncClient
) -> None:
    line.throttle = 2  # two 429s, then answers: waited out with the usual back-off
    observer = RecordingObserver()
    result = await pull(observer)
    assert (result.streams[0].new, result.streams[0].failed) == (FOLLOWERS, "")
    assert observer.waits == [1.0, 2.0]

    line.add_user(user(FOLLOWERS), "新しい友だち")
    line.throttle = 50  # LINE keeps refusing: the pull stops, says why, and the channel needs nobody
    stopped = await pull()
    assert stopped.streams[0].failed.startswith("rate limited") and stopped.unhealthy == ""
    line.throttle = 0
    rerun = await pull()
    assert (rerun.streams[0].pulled, rerun.streams[0].new) == (FOLLOWERS + 1, 1)
    assert await Follow.count() == FOLLOWERS + 1 and await Contact.count() == FOLLOWERS + 1
    headers = await api_headers(channel.workspace_id)
    assert (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()["status"] == "active"


async def test_a_revoked_token_marks_the_channel_unhealthy_and_a_reissued_one_resumes_without_duplicates(
    line: LineServer,
    channel: StoredChannel,
    pull: Puller,
    client: httpx.AsyncClient,
    settings: Settings,
    clock: FakeClock,
) -> None:
    await pull()
    line.revoke()
    refused = await pull()
    reason = "line: the channel access token is invalid, expired or revoked"
    assert refused.unhealthy.startswith(reason)
    headers = await api_headers(channel.workspace_id)
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy" and shown["status_reason"].startswith(reason)

    line.issue_token("reissued-token")
    line.add_user(user(FOLLOWERS), "新しい友だち")
    patch = {"credentials": {"channel_access_token": "reissued-token"}}
    patched = await client.patch(f"/api/v1/channels/{channel.id}", json=patch, headers=headers)
    assert patched.status_code == 200 and patched.json()["status"] == "active"
    # the worker reads the new token once its channel cache (a few seconds) has passed: a fresh context
    later = Puller(pipeline_context(settings, clock.now), pull.http, pull.buckets, clock, pull.channel_id)
    resumed = await later()
    assert resumed.unhealthy == "" and (resumed.streams[0].pulled, resumed.streams[0].new) == (FOLLOWERS + 1, 1)
    assert await Follow.count() == FOLLOWERS + 1

"""Every platform that can pull goes through sync the same way, and its items get what the webhook path gives them."""

from __future__ import annotations

import string

import httpx
import pytest
import respx

from scrm.connectors.ratelimit import ChannelBuckets
from scrm.connectors.registry import get_connector
from scrm.db import Database
from scrm.models import Contact, Post
from scrm.pull_schedule import pullable_platforms
from scrm.sync import PipelineContext, sync_channel
from tests.connectors.memory import FakeClock
from tests.platform_fakes import make_channel


@pytest.mark.parametrize("platform_key", pullable_platforms())
async def test_every_pullable_platform_pulls_an_empty_account_cleanly(
    platform_key: str,
    platform: respx.MockRouter,
    database: Database,
    context: PipelineContext,
    http: httpx.AsyncClient,
    buckets: ChannelBuckets,
    clock: FakeClock,
) -> None:
    """Each stream opens with the channel's credentials, reads its first (empty) page and ends without a problem."""
    connector = get_connector(platform_key, context.tokens)
    needed = set(connector.credential_keys)
    for stream in connector.streams:
        needed |= {name for _, name, _, _ in string.Formatter().parse(stream.path) if name}
    channel = await make_channel(platform_key, {name: f"{name}-value" for name in needed})
    empty = {"ok": True, "result": [], "data": [], "access_token": "token", "expires_in": 7200, "errcode": 0}
    platform.route().mock(return_value=httpx.Response(200, json=empty))
    result = await sync_channel(context, http, str(channel.id), buckets=buckets, clock=clock)
    assert [s.stream for s in result.streams] == [s.name for s in connector.streams]
    assert result.problem == "" and result.unhealthy == ""
    assert platform.calls.call_count >= len(connector.streams)


async def test_a_channel_without_the_credentials_a_stream_needs_skips_it_without_calling(
    platform: respx.MockRouter, database: Database, context: PipelineContext, http: httpx.AsyncClient,
    buckets: ChannelBuckets,
) -> None:  # fmt: skip
    channel = await make_channel("telegram", {"secret_token": "only-the-webhook-secret"})
    result = await sync_channel(context, http, str(channel.id), buckets=buckets)
    assert "bot_token" in result.streams[0].skipped
    assert platform.calls.call_count == 0


async def test_pulled_posts_of_the_channels_own_page_get_no_contact_as_from_a_webhook(
    platform: respx.MockRouter, database: Database, context: PipelineContext, http: httpx.AsyncClient,
    buckets: ChannelBuckets,
) -> None:  # fmt: skip
    page = {"id": "1001", "name": "Oat Café"}
    post = {"id": "1001_5", "message": "Spring menu is out", "created_time": "2026-05-01T08:00:00+0000", "from": page}
    platform.get(url__regex=r"/1001/posts").mock(return_value=httpx.Response(200, json={"data": [post]}))
    platform.get(url__regex=r"/1001_5/comments").mock(return_value=httpx.Response(200, json={"data": []}))
    platform.get(url__regex=r"/1001/conversations").mock(return_value=httpx.Response(200, json={"data": []}))
    creds = {"page_id": "1001", "page_access_token": "page-token", "app_secret": "s", "verify_token": "v"}
    channel = await make_channel("meta", creds)
    result = await sync_channel(context, http, str(channel.id), buckets=buckets)
    assert result.streams[0].new == 1 and result.unhealthy == ""
    stored_post = await Post.find_one(Post.channel_id == channel.id)
    assert stored_post is not None and stored_post.author_contact_id is None
    assert await Contact.count() == 0


async def test_a_pull_only_bot_needs_no_webhook_secret(
    platform: respx.MockRouter, database: Database, context: PipelineContext, http: httpx.AsyncClient,
    buckets: ChannelBuckets,
) -> None:  # fmt: skip
    updates = platform.get(url__regex=r"/getUpdates").respond(json={"ok": True, "result": []})
    channel = await make_channel("telegram", {"bot_token": "123456:TEST-token"})
    result = await sync_channel(context, http, str(channel.id), buckets=buckets)
    assert result.streams[0].skipped == "", result.streams[0].skipped
    assert updates.call_count == 1

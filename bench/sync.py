"""Benchmark of pull sync: a backfill through the pipeline, then a re-run, for Telegram and WeChat.

    .venv/bin/python bench/sync.py [--updates 5000] [--followers 5000] [--people 500]

Starts its own embedded mongod (or uses SCRM_MONGODB_URI). The platforms are answered in process at the httpx
transport (Telegram `getUpdates` confirmed by offset, 100 a page; WeChat `user/get` 10000 a page and
`user/info/batchget` 100 a call), with the channels' rate limits lifted, so the figures are those of our side:
the connector, the batches through `pipeline.process_many`, the cursors. Prints items/s of the backfill and of
a second run, and checks that the second run recorded nothing new.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from scratch import scratch_mongo

from scrm.channel_access import ChannelDirectory
from scrm.connectors.ratelimit import ChannelBuckets, RateLimit, SystemClock
from scrm.db import connect
from scrm.models import Channel, ChannelCredentials, Workspace
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore
from scrm.sync import PipelineContext, sync_channel

SECRET_KEY = "bench-secret-key"  # noqa: S105  # a throwaway key for the bench database
DATABASE = "scrm_bench_sync"
UNLIMITED = RateLimit(calls=1_000_000, per=timedelta(seconds=1))


def platforms(updates: int, followers: int, people: int) -> httpx.MockTransport:
    """Telegram's getUpdates and WeChat's token, user list and profiles, answered in process."""
    queue: list[dict[str, Any]] = [
        {"update_id": i, "message": {"message_id": i, "date": 1779270000 + i, "text": f"message {i}",
         "from": {"id": 1 + i % people, "is_bot": False, "first_name": f"P{i % people}"},
         "chat": {"id": 1 + i % people, "type": "private"}}}
        for i in range(1, updates + 1)
    ]  # fmt: skip
    openids = [f"oBench{i:07d}" for i in range(followers)]

    def answer(request: httpx.Request) -> httpx.Response:
        params, path = request.url.params, request.url.path
        if path.endswith("/getUpdates"):
            offset = int(params.get("offset", 0))
            queue[:] = [u for u in queue if u["update_id"] >= offset]  # below the offset: confirmed, gone
            return httpx.Response(200, json={"ok": True, "result": queue[:100]})
        if path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "BENCH", "expires_in": 7200})
        if path.endswith("/user/get"):
            after = params.get("next_openid", "")
            start = openids.index(after) + 1 if after else 0
            page = openids[start : start + 10_000]
            body: dict[str, Any] = {"total": len(openids), "count": len(page), "next_openid": page[-1] if page else ""}
            return httpx.Response(200, json={**body, "data": {"openid": page}} if page else body)
        wanted = [u["openid"] for u in json.loads(request.content)["user_list"]]
        profiles = [{"subscribe": 1, "openid": o, "nickname": o, "subscribe_time": 1767258300} for o in wanted]
        return httpx.Response(200, json={"user_info_list": profiles})

    return httpx.MockTransport(answer)


async def add_channel(box: SecretBox, platform: str, credentials: dict[str, str]) -> str:
    """A channel with sealed credentials in the bench workspace."""
    workspace = await Workspace.find_one(Workspace.name == "bench") or await Workspace(name="bench").insert()
    assert workspace.id is not None
    channel = await Channel(workspace_id=workspace.id, platform=platform, name=platform).insert()
    assert channel.id is not None
    stored = ChannelCredentials(workspace_id=workspace.id, channel_id=channel.id)
    stored.seal(box, credentials)
    await stored.insert()
    return str(channel.id)


async def measure(context: PipelineContext, http: httpx.AsyncClient, channel_id: str, label: str) -> None:
    """Pull the channel twice and print items/s of each run."""
    buckets = ChannelBuckets(SystemClock())
    buckets.for_channel(channel_id, UNLIMITED)
    for run in ("backfill", "re-run"):
        started = time.perf_counter()
        result = await sync_channel(context, http, channel_id, buckets=buckets)
        seconds = time.perf_counter() - started
        pulled, new = sum(s.pulled for s in result.streams), sum(s.new for s in result.streams)
        rate = pulled / seconds if seconds else 0.0
        print(f"{label:9} {run:8} {pulled:7d} pulled {new:7d} new  {seconds:6.2f} s  {rate:8.0f} items/s")
        if run == "re-run" and label == "wechat":
            assert new == 0, "a re-run recorded followers again"


async def main(updates: int, followers: int, people: int, uri: str) -> None:
    """Run the benchmark against the database at `uri`."""
    database = await connect(uri, DATABASE)
    box = SecretBox.from_secret_key(SECRET_KEY)
    now = lambda: datetime.now(UTC)  # noqa: E731
    context = PipelineContext(ChannelDirectory(box), MongoTokenStore(box, now), now, timedelta(days=7))
    try:
        async with httpx.AsyncClient(transport=platforms(updates, followers, people)) as http:
            telegram = await add_channel(box, "telegram", {"bot_token": "1:BENCH"})
            wechat = await add_channel(box, "wechat", {"app_id": "wxbench", "app_secret": "s", "token": "t"})
            await measure(context, http, telegram, "telegram")
            await measure(context, http, wechat, "wechat")
    finally:
        await database.client.drop_database(DATABASE)
        await database.close()


def run() -> None:
    """Parse the options, start a database when none is given, and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--followers", type=int, default=5000)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--mongodb-uri", default=os.environ.get("SCRM_MONGODB_URI"))
    options = parser.parse_args()
    if options.mongodb_uri:
        asyncio.run(main(options.updates, options.followers, options.people, options.mongodb_uri))
        return
    with scratch_mongo() as (_, uri):
        asyncio.run(main(options.updates, options.followers, options.people, uri))


if __name__ == "__main__":
    run()

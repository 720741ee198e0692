"""Delivery-to-visible latency of the live inbox: a signed delivery accepted → `inbox-changed` → list re-fetched.

    .venv/bin/python bench/inbox_sse.py [--conversations 5000] [--messages 20000] [--rate 20] [--duration 20]

Starts its own embedded mongod (a single-node replica set, so the app watches with a change stream; or uses
SCRM_MONGODB_URI), loads a workspace with `bench/inbox.py`'s loader, and runs three real processes: `scrm
webhooks` (the ingress), `scrm worker` (the pipeline) and `scrm serve` (the app with `/inbox/events`). The
script signs in to the app through its login form as the workspace's owner, opens `GET /inbox/events`, sends
signed Telegram deliveries at `--rate` per second (open loop, each to another conversation; `bench/inbox_live.py`
builds and sends them), and does what the inbox page does on each event: re-fetch `/inbox/list` (one request at
a time; events arriving meanwhile cause one more fetch, as htmx queues the last trigger).

Latencies count from the moment the ingress answered 200 (the delivery is durably stored):
- pipeline: until the worker recorded the message (its `created_at`);
- event: until the `inbox-changed` event naming the delivery's conversation arrived;
- visible: until a re-fetched list fragment showed the delivery's text. Goal: < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
from beanie import PydanticObjectId
from inbox import CHAT_BASE, SECRET_KEY, TELEGRAM_SECRET, load, principals
from inbox_live import (
    MARKER,
    LiveSetup,
    percentiles,
    pick_targets,
    process,
    recorded_at,
    send,
    wait_for_http,
    wait_for_worker,
)
from scratch import free_port, scratch_mongo

from scrm.auth.accounts import add_member, create_user
from scrm.db import connect
from scrm.models import Conversation, Role

DATABASE = "scrm_bench_inbox_sse"
OWNER_EMAIL = "owner@bench.example"
OWNER_PASSWORD = "bench owner password"  # noqa: S105 - a throwaway account in a throwaway database
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def prepare(uri: str, conversations: int, messages: int) -> LiveSetup:
    """A fresh database with the loaded workspace and an owner who signs in with a password."""
    database = await connect(uri, DATABASE)
    await database.client.drop_database(DATABASE)
    database = await connect(uri, DATABASE)
    try:
        ws = await load(conversations, messages, tag=False)
        owner, _ = principals(ws)
        user = await create_user(OWNER_EMAIL, OWNER_PASSWORD, datetime.now(UTC))
        await add_member(ws.id, user, Role.OWNER, datetime.now(UTC), actor="bench")
        home = tempfile.mkdtemp(prefix="scrm-bench-sse-home-")
        return LiveSetup(uri, DATABASE, SECRET_KEY, TELEGRAM_SECRET, home, ws.channels, CHAT_BASE, owner)
    finally:
        await database.close()


async def conversation_ids(setup: LiveSetup, targets: list[int]) -> dict[PydanticObjectId, int]:
    """The conversation id of each delivery (each goes to another conversation) → the delivery's number."""
    database = await connect(setup.uri, setup.database)
    try:
        wanted = {str(setup.chat_base + c): n for n, c in enumerate(targets)}
        found = Conversation.get_pymongo_collection().find({"external_id": {"$in": list(wanted)}}, {"external_id": 1})
        return {row["_id"]: wanted[row["external_id"]] async for row in found}
    finally:
        await database.close()


async def sign_in(web: httpx.AsyncClient) -> None:
    """Sign in through the login form, as a browser does; the session cookie stays in `web`."""
    form = await web.get("/login", headers={"accept": "text/html"})
    found = CSRF.search(form.text)
    if not found:
        raise SystemExit("the login page has no CSRF token")
    data = {"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "csrf_token": found.group(1), "next": "/inbox"}
    await web.post("/login", data=data, headers={"accept": "text/html"})
    inbox = await web.get("/inbox", headers={"accept": "text/html"})
    if inbox.status_code != 200:
        raise SystemExit(f"signing in failed: /inbox answered {inbox.status_code}")


async def events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """The stream's events as (type, data); comments skipped."""
    event, data = "", ""
    async for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = line.removeprefix("data:").strip()
        elif line == "" and event:
            yield event, data
            event, data = "", ""


class Page:
    """What the inbox page does with the stream: note each event, re-fetch the list, note what it shows."""

    def __init__(self, web: httpx.AsyncClient, numbers: dict[PydanticObjectId, int]) -> None:
        self.web, self.numbers = web, numbers
        self.event_at: dict[int, float] = {}
        self.visible_at: dict[int, float] = {}
        self.fetch_ms: list[float] = []
        self.events = 0
        self.wanted = asyncio.Event()

    async def listen(self, opened: asyncio.Event) -> None:
        """Read `/inbox/events`, noting when each delivery's conversation was named, and ask for a re-fetch."""
        async with self.web.stream("GET", "/inbox/events", timeout=None) as stream:
            if stream.status_code != 200:
                raise SystemExit(f"/inbox/events answered {stream.status_code}")
            lines = stream.aiter_lines()
            await anext(lines)  # the opening comment: subscribed
            opened.set()
            async for kind, data in events(lines):
                now = time.time()
                if kind != "inbox-changed":
                    continue
                self.events += 1
                if PydanticObjectId.is_valid(data):
                    number = self.numbers.get(PydanticObjectId(data))
                    if number is not None:
                        self.event_at.setdefault(number, now)
                self.wanted.set()

    async def refetch(self) -> None:
        """One list request at a time; events during a request make one more (htmx's queued last trigger)."""
        while True:
            await self.wanted.wait()
            self.wanted.clear()
            started = time.perf_counter()
            fragment = await self.web.get("/inbox/list", headers={"hx-request": "true"})
            self.fetch_ms.append((time.perf_counter() - started) * 1000)
            now = time.time()
            for found in MARKER.finditer(fragment.text):
                self.visible_at.setdefault(int(found.group(1)), now)


async def run(
    setup: LiveSetup, app_url: str, port: int, targets: list[int], rate: float
) -> tuple[dict[int, float], Page]:
    """Sign in, subscribe, send the deliveries, and wait until every one was shown (or 20 s passed)."""
    numbers = await conversation_ids(setup, targets)
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as web:
        await sign_in(web)
        page, opened = Page(web, numbers), asyncio.Event()
        tasks = [asyncio.create_task(page.listen(opened)), asyncio.create_task(page.refetch())]
        await asyncio.wait_for(opened.wait(), 30)
        accepted: dict[int, float] = {}
        statuses: dict[int, int] = {}
        await send(setup, port, targets, rate, accepted, statuses)
        deadline = time.monotonic() + 20
        while not set(accepted) <= set(page.visible_at) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if set(statuses) != {200}:
            print(f"ingress answers: {statuses}")
        return accepted, page


def measure(setup: LiveSetup, rate: float, duration: float) -> list[str]:
    """Run the ingress, a worker and the app, send at `rate` for `duration` s, and return the figures."""
    targets = asyncio.run(pick_targets(setup, int(rate * duration)))
    hooks, app = free_port(), free_port()
    env = {"SCRM_MONGODB_URI": setup.uri, "SCRM_DATABASE": setup.database, "SCRM_SECRET_KEY": setup.secret_key,
           "SCRM_WEBHOOKS_PORT": str(hooks), "SCRM_PORT": str(app), "SCRM_LOG_LEVEL": "warning",
           "SCRM_HOME": setup.home}  # fmt: skip
    app_url = f"http://127.0.0.1:{app}"
    with (
        process([sys.executable, "-m", "scrm", "webhooks"], env) as ingress,
        process([sys.executable, "-m", "scrm", "serve"], env) as web,
    ):
        wait_for_http(ingress, f"http://127.0.0.1:{hooks}/health")
        wait_for_http(web, f"{app_url}/health")
        with process([sys.executable, "-m", "scrm", "worker"], env) as worker:
            asyncio.run(wait_for_worker(setup, worker))
            accepted, page = asyncio.run(run(setup, app_url, hooks, targets, rate))
    recorded = asyncio.run(recorded_at(setup, targets))
    lines = [f"live: {len(accepted)} deliveries at {rate:.0f}/s for {duration:.0f} s, each to another conversation"]
    pipeline = [recorded[n] - at for n, at in accepted.items() if n in recorded]
    lines.append(f"{'pipeline latency (accepted → recorded)':46} {percentiles(pipeline)}")
    for label, seen in (("event latency (accepted → inbox-changed)", page.event_at),
                        ("visible latency (accepted → list re-fetched)", page.visible_at)):  # fmt: skip
        measured = [seen[n] - at for n, at in accepted.items() if n in seen]
        missing = len(accepted) - len(measured)
        lines.append(f"{label:46} {percentiles(measured)}{f'   ({missing} never seen)' if missing else ''}")
    fetch = sorted(page.fetch_ms)
    if fetch:
        lines.append(
            f"{'  list re-fetches (ms)':46} p50 {fetch[len(fetch) // 2]:6.1f}   p95 "
            f"{fetch[min(len(fetch) - 1, int(0.95 * len(fetch)))]:6.1f}   "
            f"({len(fetch)} fetches for {page.events} events)"
        )
    return lines


def main() -> None:
    """Start MongoDB, load, measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20, help="live deliveries per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of live deliveries")
    args = parser.parse_args()
    random.seed(6)
    with scratch_mongo() as (_, uri):
        print(f"{os.cpu_count()} cores; MongoDB at {uri}", flush=True)
        setup = asyncio.run(prepare(uri, args.conversations, args.messages))
        for line in measure(setup, args.rate, args.duration):
            print(line, flush=True)


if __name__ == "__main__":
    main()

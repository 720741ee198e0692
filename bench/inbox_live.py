"""Delivery-to-visible latency of the inbox: a signed webhook delivery accepted → the inbox list shows it.

Runs `scrm webhooks` (uvicorn) and `scrm worker` as real processes against a loaded workspace, sends signed
Telegram deliveries at a steady rate, each to a different existing conversation of the workspace, and polls
the owner's default view (open conversations, newest activity first) with `list_conversations`, the query
behind `/inbox/list`, every 5 s (the page's interval before it refreshed on server-sent events; `bench/inbox_sse.py`
measures those) and every 1 s. A poll reads the page of 30, then follows the cursor (as scrolling does) until it reaches
activity older than its previous poll, so every arrival since then is seen on the poll that could show it.

Latencies count from the moment the ingress answered 200 (the delivery is durably stored):
- pipeline: until the worker recorded the message (its `created_at`, the pipeline's clock for the batch);
- visible: until the end of the first poll whose list holds the message as its conversation's latest.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from beanie import PydanticObjectId
from loadgen import Connection, Request

from scrm.auth.roles import Principal
from scrm.db import connect
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.models import Conversation, ConversationStatus, Message, WorkerHeartbeat

ROOT = Path(__file__).resolve().parent.parent
PAGE_POLL_SECONDS = 5.0
"""The inbox list's `hx-trigger="every 5s"` before the page refreshed on `inbox-changed` events."""
FAST_POLL_SECONDS = 1.0
MARGIN_SECONDS = 3.0
"""A poll scrolls back to its previous poll's start minus this (a message sorts by its platform time, in whole
seconds, and is listed once recorded): a delivery recorded later than this is reported as never listed."""
SCROLL_PAGE = 250
"""The pages after the first (not timed) are read in bigger steps, so the scrolling adds little load."""
MESSAGE_BASE = 1_000_000
"""Telegram message ids of the live deliveries start here (the loaded messages of a chat are 1, 2, …)."""
MARKER = re.compile(r"ref B(\d+)")
CHANNELS = 20


@dataclass(frozen=True, slots=True)
class LiveSetup:
    """Where the loaded workspace is and how to sign deliveries to its channels."""

    uri: str
    database: str
    secret_key: str
    telegram_secret: str
    home: str
    channels: list[PydanticObjectId]
    chat_base: int
    owner: Principal


@dataclass
class Poller:
    """One browser tab's list, polled every `interval` seconds."""

    interval: float
    seen: dict[int, float] = field(default_factory=dict)
    page_ms: list[float] = field(default_factory=list)
    pages_per_poll: list[int] = field(default_factory=list)


def percentiles(values: list[float]) -> str:
    """p50/p95/p99 in seconds, or a note when there is nothing to measure."""
    if not values:
        return "nothing measured"
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return f"p50 {at(50):6.2f} s   p95 {at(95):6.2f} s   p99 {at(99):6.2f} s   ({len(ordered)})"


@contextmanager
def process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process until the block ends, its output in a log file shown if it dies."""
    log = tempfile.NamedTemporaryFile(prefix="bench-inbox-", suffix=".log", delete=False)  # noqa: SIM115
    child = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=30)
        if child.returncode not in (0, -15):
            print(Path(log.name).read_text()[-2000:])


def wait_for_http(child: subprocess.Popen[bytes], url: str) -> None:
    """Wait until `url` answers (the ingress is up)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args!r} exited with {child.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within 60 s")


async def wait_for_worker(setup: LiveSetup, child: subprocess.Popen[bytes]) -> None:
    """Wait until the worker's first heartbeat (written once its NLP models are loaded)."""
    database = await connect(setup.uri, setup.database)
    try:
        deadline = time.monotonic() + 120
        while await WorkerHeartbeat.get_pymongo_collection().count_documents({"role": "worker"}) == 0:
            if child.poll() is not None:
                raise SystemExit(f"the worker exited with {child.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit("the worker did not start within 120 s")
            await asyncio.sleep(0.2)
    finally:
        await database.close()


async def pick_targets(setup: LiveSetup, count: int) -> list[int]:
    """`count` conversation numbers, each a different conversation that an inbound message lists as open.

    A pending conversation stays pending when its contact writes, so it would never show in the open view.
    """
    database = await connect(setup.uri, setup.database)
    try:
        query = {"workspace_id": setup.owner.workspace_id, "status": {"$ne": ConversationStatus.PENDING.value}}
        sample: list[dict[str, Any]] = [
            {"$match": query},
            {"$sample": {"size": count}},
            {"$project": {"external_id": 1}},
        ]
        rows = await (await Conversation.get_pymongo_collection().aggregate(sample)).to_list()
        return [int(row["external_id"]) - setup.chat_base for row in rows]
    finally:
        await database.close()


def delivery(setup: LiveSetup, number: int, conversation: int) -> Request:
    """Delivery `number`: a Telegram update with a new message in conversation `conversation`, signed."""
    chat = setup.chat_base + conversation
    body = {
        "update_id": 900_000_000 + number,
        "message": {
            "message_id": MESSAGE_BASE + number,
            "from": {"id": chat, "is_bot": False, "first_name": f"Contact {conversation}"},
            "chat": {"id": chat, "type": "private"},
            "date": int(time.time()),
            "text": f"Any news on my order? ref B{number}",
        },
    }
    channel = setup.channels[conversation % CHANNELS]
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": setup.telegram_secret}
    return Request(f"/webhooks/telegram/{channel}", json.dumps(body).encode(), headers)


async def send(
    setup: LiveSetup, port: int, targets: list[int], rate: float, accepted: dict[int, float], statuses: dict[int, int]
) -> None:
    """Send one delivery per target at `rate` per second (open loop); note when each was accepted (200)."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(32):
        idle.put_nowait(Connection("127.0.0.1", port))

    async def one(number: int, conversation: int) -> None:
        connection = await idle.get()
        try:
            status = await connection.send(delivery(setup, number, conversation))
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                accepted[number] = time.time()
        finally:
            idle.put_nowait(connection)

    start, tasks = time.perf_counter(), []
    for number, conversation in enumerate(targets):
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(number, conversation)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        await idle.get_nowait().close()


async def poll(setup: LiveSetup, poller: Poller, since: float, stop: asyncio.Event) -> None:
    """Poll the owner's open list every `interval` s; note when each delivery's marker is first listed."""
    wanted = InboxFilter(status=ConversationStatus.OPEN)
    previous = since
    while not stop.is_set():
        started = time.time()
        watermark = datetime.fromtimestamp(previous - MARGIN_SECONDS, UTC)
        cursor, pages = None, 0
        while True:
            page_started = time.perf_counter()
            listing = await list_conversations(setup.owner, wanted, cursor, 30 if cursor is None else SCROLL_PAGE)
            pages += 1
            if pages == 1:
                poller.page_ms.append((time.perf_counter() - page_started) * 1000)
            now = time.time()
            for row in listing.rows:
                found = MARKER.search(row.conversation.last_message_preview)
                if found:
                    poller.seen.setdefault(int(found.group(1)), now)
            oldest = listing.rows[-1].conversation.last_message_at if listing.rows else None
            if listing.next_cursor is None or oldest is None or oldest.replace(tzinfo=UTC) < watermark:
                break
            cursor = listing.next_cursor
        poller.pages_per_poll.append(pages)
        previous = started
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, started + poller.interval - time.time()))


async def run(setup: LiveSetup, port: int, targets: list[int], rate: float) -> tuple[dict[int, float], list[Poller]]:
    """Send while two pollers watch the list; returns the accepted times and the pollers."""
    database = await connect(setup.uri, setup.database)
    try:
        accepted: dict[int, float] = {}
        statuses: dict[int, int] = {}
        pollers = [Poller(PAGE_POLL_SECONDS), Poller(FAST_POLL_SECONDS)]
        stop = asyncio.Event()
        since = time.time()
        tasks = [asyncio.create_task(poll(setup, p, since, stop)) for p in pollers]
        await send(setup, port, targets, rate, accepted, statuses)
        for _ in range(int(2 * (3 * PAGE_POLL_SECONDS + 10))):  # until every poller listed every delivery
            if all(set(accepted) <= set(p.seen) for p in pollers):
                break
            await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)
        if set(statuses) != {200}:
            print(f"ingress answers: {statuses}")
        return accepted, pollers
    finally:
        await database.close()


async def recorded_at(setup: LiveSetup, targets: list[int]) -> dict[int, float]:
    """When the worker recorded each delivery's message (the pipeline's clock for its batch)."""
    database = await connect(setup.uri, setup.database)
    try:
        wanted = {f"{setup.chat_base + c}:{MESSAGE_BASE + n}": n for n, c in enumerate(targets)}
        found = Message.get_pymongo_collection().find(
            {"external_id": {"$in": list(wanted)}}, {"external_id": 1, "created_at": 1}
        )
        return {wanted[row["external_id"]]: row["created_at"].replace(tzinfo=UTC).timestamp() async for row in found}
    finally:
        await database.close()


def delivery_to_visible(setup: LiveSetup, rate: float, duration: float) -> list[str]:
    """Run the ingress and a worker, send at `rate` for `duration` s, and return the figures as lines."""
    targets = asyncio.run(pick_targets(setup, int(rate * duration)))
    port = setup_port()
    env = {"SCRM_MONGODB_URI": setup.uri, "SCRM_DATABASE": setup.database, "SCRM_SECRET_KEY": setup.secret_key,
           "SCRM_WEBHOOKS_PORT": str(port), "SCRM_LOG_LEVEL": "warning", "SCRM_HOME": setup.home}  # fmt: skip
    with process([sys.executable, "-m", "scrm", "webhooks"], env) as ingress:
        wait_for_http(ingress, f"http://127.0.0.1:{port}/health")
        with process([sys.executable, "-m", "scrm", "worker"], env) as worker:
            asyncio.run(wait_for_worker(setup, worker))
            accepted, pollers = asyncio.run(run(setup, port, targets, rate))
    recorded = asyncio.run(recorded_at(setup, targets))
    lines = [f"live: {len(accepted)} deliveries at {rate:.0f}/s for {duration:.0f} s, each to another conversation"]
    pipeline = [recorded[n] - at for n, at in accepted.items() if n in recorded]
    lines.append(f"{'pipeline latency (accepted → recorded)':46} {percentiles(pipeline)}")
    for poller in pollers:
        visible = [poller.seen[n] - at for n, at in accepted.items() if n in poller.seen]
        missing = len(accepted) - len(visible)
        label = f"visible latency, list polled every {poller.interval:.0f} s"
        lines.append(f"{label:46} {percentiles(visible)}{f'   ({missing} never listed)' if missing else ''}")
    for poller in pollers:
        page = sorted(poller.page_ms)
        pages = sum(poller.pages_per_poll) / max(1, len(poller.pages_per_poll))
        lines.append(
            f"{f'  first page during the {poller.interval:.0f} s polls (ms)':46} p50 {page[len(page) // 2]:6.1f}"
            f"   p95 {page[min(len(page) - 1, int(0.95 * len(page)))]:6.1f}   ({pages:.1f} pages per poll)"
        )
    return lines


def setup_port() -> int:
    """A free TCP port for the ingress."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port

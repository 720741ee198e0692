"""Benchmark of the outbound path: messages queued in the outbox until the platform has accepted them.

    .venv/bin/python bench/delivery.py [--messages 5000] [--limited 300] [--rate 100] [--duration 10] [--concurrency 32]

Starts its own embedded mongod (or uses SCRM_MONGODB_URI) and, as a process of its own, a local HTTP server
(uvicorn) speaking the Bot API's `sendMessage`; the delivery's httpx client routes api.telegram.org to it at
the transport, so everything else — connector, checks, claims, group commits — is the real code. Then:
1. backlog: `--messages` inbox replies queued at once, drained by one worker's delivery loop with the channel's
   rate limit lifted: sends/s, enqueue→sent p50/p99, and what the server received (exactly N, no duplicates);
2. the same for `--limited` messages at Telegram's declared 30 messages/s: the token bucket holds the pace;
3. steady: replies queued one by one at `--rate`/s while the loop runs: enqueue→sent p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from beanie import PydanticObjectId
from scratch import free_port, scratch_mongo

from scrm.channel_access import ChannelDirectory
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.db import connect
from scrm.delivery import CONCURRENCY, RATE_OVERRIDE, DeliveryContext, run_delivery
from scrm.models import Channel, ChannelCredentials, Contact, Conversation, Identity, OutboundMessage, Workspace
from scrm.models.sealed import SecretBox
from scrm.outbox import Outgoing, Source, enqueue, enqueue_many
from scrm.platform_state import MongoTokenStore

SECRET_KEY = "bench-secret-key"  # noqa: S105  # a throwaway key for the bench database
BOT_TOKEN = "123456:BENCH"  # noqa: S105  # the fake platform accepts any token
DATABASE = "scrm_bench_delivery"
PEOPLE = 1_000
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def telegram_server() -> Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]:
    """A bare ASGI app answering `sendMessage` as the Bot API does, counting every text it receives."""
    received: Counter[str] = Counter()

    async def app(
        scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), bool(message.get("more_body"))
        answer: dict[str, Any] = {"received": sum(received.values()), "unique": len(received)}
        if scope["path"].endswith("/sendMessage"):
            sent = json.loads(body)
            received[sent["text"]] += 1
            chat = {"id": int(sent["chat_id"]), "type": "private"}
            result = {
                "message_id": sum(received.values()),
                "chat": chat,
                "date": int(time.time()),
                "text": sent["text"],
            }
            answer = {"ok": True, "result": result}
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    return app


class ToLocalServer(httpx.AsyncBaseTransport):
    """Sends every request to the local fake platform instead of the host it names."""

    def __init__(self, port: int, connections: int) -> None:
        self._port = port
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._inner = httpx.AsyncHTTPTransport(limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Rewrite the URL to the local server and send."""
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._inner.aclose()


async def prepare() -> tuple[Channel, list[tuple[PydanticObjectId, PydanticObjectId]]]:
    """A Telegram channel and PEOPLE contacts, each with a conversation: (contact id, conversation id)."""
    workspace = await Workspace(name="bench").insert()
    assert workspace.id is not None
    channel = await Channel(workspace_id=workspace.id, platform="telegram", name="bench bot").insert()
    assert channel.id is not None
    credentials = ChannelCredentials(workspace_id=workspace.id, channel_id=channel.id)
    credentials.seal(SecretBox.from_secret_key(SECRET_KEY), {"bot_token": BOT_TOKEN})
    await credentials.insert()
    contacts = [
        Contact(workspace_id=workspace.id, identities=[Identity(platform="telegram", external_id=str(10_000 + n))])
        for n in range(PEOPLE)
    ]
    contact_ids = (await Contact.insert_many(contacts)).inserted_ids
    conversations = [
        Conversation(workspace_id=workspace.id, channel_id=channel.id, contact_id=cid, platform="telegram",
                     external_id=str(10_000 + n), last_inbound_at=datetime.now(UTC))
        for n, cid in enumerate(contact_ids)
    ]  # fmt: skip
    conversation_ids = (await Conversation.insert_many(conversations)).inserted_ids
    return channel, [
        (PydanticObjectId(c), PydanticObjectId(v)) for c, v in zip(contact_ids, conversation_ids, strict=True)
    ]


def reply(channel: Channel, people: list[tuple[PydanticObjectId, PydanticObjectId]], run: str, n: int) -> Outgoing:
    """Inbox reply number `n` of a run, to one of the people in turn."""
    assert channel.id is not None
    contact_id, conversation_id = people[n % len(people)]
    return Outgoing(workspace_id=channel.workspace_id, channel_id=channel.id, contact_id=contact_id,
                    conversation_id=conversation_id, source=Source.INBOX, dedupe_key=f"bench:{run}:{n}",
                    text=f"{run} reply {n}")  # fmt: skip


class Worker:
    """One worker's delivery loop, running until stopped, against the local platform."""

    def __init__(self, port: int, concurrency: int) -> None:
        box = SecretBox.from_secret_key(SECRET_KEY)
        self.http = httpx.AsyncClient(transport=ToLocalServer(port, concurrency))
        now = lambda: datetime.now(UTC)  # noqa: E731
        buckets = ChannelBuckets(SystemClock())
        directory, tokens = ChannelDirectory(box), MongoTokenStore(box)
        self.context = DeliveryContext(directory, tokens, self.http, buckets, now, concurrency=concurrency)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_delivery(self.context, self.stop))

    async def close(self) -> None:
        """Stop the loop and close the client."""
        self.stop.set()
        await self.task
        await self.http.aclose()


async def wait_sent(run: str, count: int) -> None:
    """Return once `count` messages of the run are sent."""
    query = {"dedupe_key": {"$regex": f"^bench:{run}:"}, "status": "sent"}
    collection = OutboundMessage.get_pymongo_collection()
    while True:
        if await collection.count_documents(query) >= count:
            return
        await asyncio.sleep(0.05)


async def latencies(run: str) -> list[float]:
    """Seconds from enqueue to sent for every message of the run."""
    rows = OutboundMessage.get_pymongo_collection().find(
        {"dedupe_key": {"$regex": f"^bench:{run}:"}}, {"created_at": 1, "sent_at": 1}
    )
    return [(row["sent_at"] - row["created_at"]).total_seconds() async for row in rows]


def summary(values: list[float]) -> str:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms"


async def backlog(channel: Channel, people: list[Any], port: int, run: str, count: int, concurrency: int) -> str:
    """Queue `count` replies at once and drain them with one worker; return the figures."""
    await enqueue_many([reply(channel, people, run, n) for n in range(count)], datetime.now(UTC))
    started, cpu = time.perf_counter(), time.process_time()
    worker = Worker(port, concurrency)
    await wait_sent(run, count)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await worker.close()
    figures = (
        f"{count / elapsed:,.0f} sends/s ({count} in {elapsed:.1f} s, {cpu / count * 1000:.1f} ms CPU per message)"
    )
    return f"{figures}; enqueue→sent {summary(await latencies(run))}"


async def steady(channel: Channel, people: list[Any], port: int, rate: float, duration: float, concurrency: int) -> str:
    """Queue replies one by one at `rate`/s while a worker runs; return the enqueue→sent figures."""
    worker = Worker(port, concurrency)
    count, started = int(rate * duration), time.perf_counter()
    for n in range(count):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        await enqueue(reply(channel, people, "steady", n), datetime.now(UTC))
    await wait_sent("steady", count)
    await worker.close()
    return f"steady {rate:.0f}/s for {duration:.0f} s: enqueue→sent {summary(await latencies('steady'))}"


async def measure(uri: str, port: int, args: argparse.Namespace) -> list[str]:
    """Run the three parts against a fresh database and return their figures."""
    database = await connect(uri, DATABASE)
    await database.client.drop_database(DATABASE)
    database = await connect(uri, DATABASE)
    channel, people = await prepare()
    lines = []
    collection = Channel.get_pymongo_collection()
    await collection.update_one({"_id": channel.id}, {"$set": {f"config.{RATE_OVERRIDE}": 1_000_000}})
    lines.append(
        f"backlog, no rate limit: {await backlog(channel, people, port, 'open', args.messages, args.concurrency)}"
    )
    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"http://127.0.0.1:{port}/stats")).json()
    lines.append(f"  the platform received {stats['received']} sendMessage calls, {stats['unique']} distinct texts")
    await collection.update_one({"_id": channel.id}, {"$unset": {"config": ""}})
    figures = await backlog(channel, people, port, "limited", args.limited, args.concurrency)
    lines.append(f"backlog at Telegram's declared 30 msg/s (burst 30): {figures}")
    await collection.update_one({"_id": channel.id}, {"$set": {f"config.{RATE_OVERRIDE}": 1_000_000}})
    lines.append(await steady(channel, people, port, args.rate, args.duration, args.concurrency))
    await database.close()
    return lines


def serve(port: int) -> None:
    """Run the fake Bot API until killed."""
    uvicorn.run(telegram_server(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    """Start the fake Bot API in a process of its own and wait until it answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/stats")
            return server, port
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the fake Bot API did not start")


def main() -> None:
    """Start MongoDB and the fake platform, run every part and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--limited", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with scratch_mongo() as (_, uri):
        server, port = start_server()
        try:
            print(f"{os.cpu_count()} cores; MongoDB at {uri}; fake Bot API on port {port}", flush=True)
            for line in asyncio.run(measure(uri, port, args)):
                print(line, flush=True)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()

"""Benchmark of the inbox list: how long one page of conversations takes under the common filters.

    .venv/bin/python bench/inbox.py [--conversations 50000] [--messages 4] [--runs 100]

Starts its own embedded mongod (or uses SCRM_MONGODB_URI), bulk-loads one workspace (20 channels, one contact
and one conversation per thread, `--messages` tagged messages each, statuses, labels, assignees and unread
counts spread as in a busy inbox) with insert_many, then times `list_conversations` — the page of 30, its
contacts and channels, and the counts per status, exactly as `/inbox` and `/api/v1/conversations` run it —
`--runs` times per filter, and prints p50/p95 in milliseconds. The goal is p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId

from scrm.auth.roles import Principal
from scrm.db import connect
from scrm.embedded import EmbeddedMongo
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.inbox.latest_tags import rebuild_latest_tags
from scrm.inbox.view import open_conversation
from scrm.models import Channel, Contact, Conversation, ConversationStatus, Message, Role

CHANNELS = 20
USERS = 10
LABELS = ("vip", "refund", "shipping", "wholesale", "lead", "bug", "late", "press", "b2b", "follow-up")
SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other")
STATUSES = (["open"] * 8) + (["pending"] * 2) + ["snoozed"] + (["resolved"] * 9)
BATCH = 10_000


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _thread(ws: ObjectId, channels: list[ObjectId], users: list[ObjectId], n: int, now: datetime) -> dict[str, Any]:
    """One contact and conversation, as raw documents (the conversation carries its messages to make)."""
    at = now - timedelta(minutes=n * 3 + random.randint(0, 2))
    channel = channels[n % len(channels)]
    assignee = random.choice(users) if random.random() < 0.6 else None
    labels = random.sample(LABELS, random.choice((0, 0, 1, 2)))
    return {
        "contact": {"_id": ObjectId(), "workspace_id": ws, "created_at": at, "name": f"Contact {n}", "identities": []},
        "conversation": {
            "_id": ObjectId(),
            "workspace_id": ws,
            "created_at": at,
            "channel_id": channel,
            "platform": "telegram",
            "external_id": f"thread-{n}",
            "status": random.choice(STATUSES),
            "assignee_id": assignee,
            "team_id": None,
            "labels": labels,
            "last_message_at": at,
            "last_inbound_at": at,
            "last_message_preview": f"message {n}",
            "unread_count": random.choice((0, 0, 0, 1, 2)),
            "snoozed_until": None,
        },
    }


def _messages(thread: dict[str, Any], count: int) -> list[dict[str, Any]]:
    conversation = thread["conversation"]
    return [
        {
            "_id": ObjectId(),
            "workspace_id": conversation["workspace_id"],
            "created_at": conversation["last_message_at"],
            "channel_id": conversation["channel_id"],
            "conversation_id": conversation["_id"],
            "contact_id": thread["contact"]["_id"],
            "platform": "telegram",
            "external_id": f"{conversation['external_id']}-{i}",
            "direction": "inbound" if i % 3 != 1 else "outbound",
            "text": "hello",
            "attachments": [],
            "sent_at": conversation["last_message_at"] - timedelta(minutes=count - i),
            "tags": {"language": "en", "sentiment": random.choice(SENTIMENTS), "intent": random.choice(INTENTS)},
        }
        for i in range(count)
    ]


async def load(conversations: int, per: int) -> tuple[ObjectId, list[ObjectId], list[ObjectId]]:
    """Insert the workspace's channels, contacts, conversations and messages; returns its ids."""
    ws, now = ObjectId(), datetime.now(UTC)
    channels = [ObjectId() for _ in range(CHANNELS)]
    users = [ObjectId() for _ in range(USERS)]
    await Channel.get_pymongo_collection().insert_many(
        [{"_id": c, "workspace_id": ws, "platform": "telegram", "name": f"bot {i}"} for i, c in enumerate(channels)]
    )
    started = time.perf_counter()
    for start in range(0, conversations, BATCH):
        threads = [_thread(ws, channels, users, n, now) for n in range(start, min(start + BATCH, conversations))]
        for thread in threads:
            thread["conversation"]["contact_id"] = thread["contact"]["_id"]
        await Contact.get_pymongo_collection().insert_many([t["contact"] for t in threads], ordered=False)
        await Conversation.get_pymongo_collection().insert_many([t["conversation"] for t in threads], ordered=False)
        messages = [m for t in threads for m in _messages(t, per)]
        await Message.get_pymongo_collection().insert_many(messages, ordered=False)
    await rebuild_latest_tags()  # what the pipeline keeps on each conversation as it tags messages
    elapsed = time.perf_counter() - started
    print(f"loaded {conversations} conversations, {conversations * per} messages in {elapsed:.1f} s")
    return ws, channels, users


def scenarios(channels: list[ObjectId], users: list[ObjectId]) -> dict[str, InboxFilter]:
    """The filters people use most."""
    open_ = ConversationStatus.OPEN
    return {
        "open (default)": InboxFilter(status=open_),
        "all statuses": InboxFilter(),
        "resolved": InboxFilter(status=ConversationStatus.RESOLVED),
        "channel + open": InboxFilter(channel_id=channels[3], status=open_),  # type: ignore[arg-type]
        "assignee=me + open": InboxFilter(status=open_, assignee="me"),
        "unassigned + open": InboxFilter(status=open_, assignee="unassigned"),
        "label + open": InboxFilter(status=open_, label="refund"),
        "unread + open": InboxFilter(status=open_, unread=True),
        "sentiment=negative + open": InboxFilter(status=open_, sentiment="negative"),
        "intent=complaint + open": InboxFilter(status=open_, intent="complaint"),
        "intent=spam + negative": InboxFilter(sentiment="negative", intent="spam"),
    }


async def timed(runs: int, work: Any) -> tuple[float, float]:
    """p50 and p95 of `work()` in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(samples, n=20)
    return statistics.median(samples), quantiles[18]


async def measure(uri: str, args: argparse.Namespace) -> None:
    """Load, then time every scenario for an owner and for an agent of three channels."""
    database = await connect(uri, "bench_inbox")
    try:
        ws, channels, users = await load(args.conversations, args.messages)
        owner = Principal(ws, Role.OWNER, f"user:{users[0]}")  # type: ignore[arg-type]
        agent = Principal(ws, Role.AGENT, f"user:{users[1]}", channel_ids=frozenset(channels[:3]))  # type: ignore[arg-type]
        print(f"{'filter':34} {'owner p50':>10} {'p95':>8} {'agent p50':>10} {'p95':>8}  (ms, page of 30 + counts)")
        for name, wanted in scenarios(channels, users).items():
            o50, o95 = await timed(args.runs, lambda w=wanted: list_conversations(owner, w, None, 30))
            a50, a95 = await timed(args.runs, lambda w=wanted: list_conversations(agent, w, None, 30))
            print(f"{name:34} {o50:10.1f} {o95:8.1f} {a50:10.1f} {a95:8.1f}")
        first = await list_conversations(owner, InboxFilter(status=ConversationStatus.OPEN), None, 30)
        p50, p95 = await timed(args.runs, lambda: list_conversations(owner, InboxFilter(), first.next_cursor, 30))
        print(f"{'page 2 (cursor)':34} {p50:10.1f} {p95:8.1f}")
        target = first.rows[0].conversation.id
        assert target is not None
        p50, p95 = await timed(args.runs, lambda: open_conversation(owner, target, datetime.now(UTC)))
        print(f"{'open one conversation (view)':34} {p50:10.1f} {p95:8.1f}")
    finally:
        await database.client.drop_database("bench_inbox")
        await database.close()


def main() -> None:
    """Start MongoDB, load, measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    random.seed(6)
    with tempfile.TemporaryDirectory() as home:
        mongo = None if os.environ.get("SCRM_MONGODB_URI") else EmbeddedMongo(Path(home), free_port())
        if mongo is not None:
            mongo.start()
        try:
            asyncio.run(measure(os.environ.get("SCRM_MONGODB_URI") or (mongo.uri if mongo else ""), args))
        finally:
            if mongo is not None:
                mongo.stop()


if __name__ == "__main__":
    main()

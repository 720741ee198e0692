"""Benchmark of the inbox: one page of conversations under the common filters, and delivery-to-visible latency.

    .venv/bin/python bench/inbox.py [--conversations 100000] [--messages 1000000] [--tag] [--runs 50]
                                    [--rate 50] [--duration 25] [--no-live] [--without-index NAME]

Starts its own embedded mongod (or uses SCRM_MONGODB_URI), then:
1. loads one workspace (20 Telegram channels) through the pipeline's bulk path: `scrm.pipeline.process_many`
   with `InboundMessage` items in batches of 10,000, exactly as the worker records deliveries (contacts,
   conversations, messages, conversation activity, tags, latest tags). `--tag` tags with the shipped NLP
   models; without it a seeded tagger spreads sentiments and intents through the same `pipeline.tag` step,
   without the models' CPU cost. Statuses, assignees, labels and unread counts are then spread as in a busy
   inbox with bulk updates;
2. times `list_conversations` — the page of 30, its contacts and channels, and the counts per status, exactly
   as `/inbox` and `/api/v1/conversations` run it — `--runs` times per filter, for an owner and for an agent
   limited to three channels, and prints p50/p95 in milliseconds (goal: p95 < 100 ms);
3. (unless `--no-live`) runs `scrm webhooks` and `scrm worker` as processes against that workspace, sends
   signed Telegram deliveries at `--rate` per second for `--duration` seconds, and polls the inbox list every
   5 s (the page's interval before server-sent events) and every 1 s: it prints p50/p95/p99 of the pipeline
   latency (accepted → recorded) and of the visible latency (accepted → first poll that lists the message).
   Goal: < 2 s. `bench/inbox_sse.py` measures the page's event-driven refresh with this loader.
4. with `--without-index NAME`, drops that conversation index after step 2 and times the filters again on the
   same data (an A/B of one index in one run), then restores it; then measures what the index costs the
   writes: rounds of 5,000 new messages into existing conversations through `pipeline.process_many` (batches
   of 1,000, as the worker records them), alternately with and without the index, and prints the messages/s
   of each round and the median of each side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from inbox_live import LiveSetup, delivery_to_visible
from pymongo import UpdateOne
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from scratch import scratch_mongo

from scrm import pipeline
from scrm.auth.roles import Principal
from scrm.connectors.items import Inbound, InboundMessage, Sender
from scrm.db import connect
from scrm.demo.samples import TEXTS_EN, TEXTS_ZH
from scrm.events import Where
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.inbox.view import open_conversation
from scrm.models import Channel, ChannelCredentials, Conversation, ConversationStatus, Role, Workspace
from scrm.models.sealed import SecretBox

CHANNELS = 20
USERS = 10
LABELS = ("vip", "refund", "shipping", "wholesale", "lead", "bug", "late", "press", "b2b", "follow-up")
SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other")
STATUSES = (["open"] * 8) + (["pending"] * 2) + ["snoozed"] + (["resolved"] * 9)
TEXTS = TEXTS_EN + TEXTS_ZH
BATCH = 10_000
CHAT_BASE = 7_000_000_000
"""Telegram chat (and user) id of conversation 0; conversation n is chat CHAT_BASE + n."""
DATABASE = "scrm_bench_inbox"
SECRET_KEY = "bench-secret-key"  # noqa: S105 - a throwaway key for a throwaway database
TELEGRAM_SECRET = "bench-telegram-secret"  # noqa: S105


@dataclass(frozen=True, slots=True)
class SpreadTags:
    """The tags of one text as the seeded tagger gives them (same shape as the NLP tagger's)."""

    sentiment: str
    intent: str
    language: str

    def to_dict(self) -> dict[str, Any]:
        """The tags as stored on the message."""
        return {"language": self.language, "sentiment": self.sentiment, "intent": self.intent, "entities": []}


class SpreadTagger:
    """A seeded stand-in for the NLP models: the pipeline's `tag` step stores its tags as it stores theirs."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def tag_many(self, texts: Sequence[str]) -> list[SpreadTags]:
        """Sentiments and intents spread at random; the language from the script, one text in ten `other`."""
        pick = self.random.choice
        return [SpreadTags(pick(SENTIMENTS), pick(INTENTS), self.language(t)) for t in texts]

    def language(self, text: str) -> str:
        """`other` one time in ten (as if tagged from another script), else `zh` or `en` from the first letter."""
        if self.random.random() < 0.1:
            return "other"
        return "zh" if ord(text[0]) > 0x2E80 else "en"


@dataclass(frozen=True, slots=True)
class Loaded:
    """The ids of the loaded workspace."""

    id: PydanticObjectId
    channels: list[PydanticObjectId]
    users: list[PydanticObjectId]


def per_conversation(conversations: int, messages: int) -> list[int]:
    """How many messages each conversation gets: `messages` spread as evenly as possible."""
    base, extra = divmod(messages, conversations)
    return [base + (1 if n < extra else 0) for n in range(conversations)]


def thread_items(n: int, count: int, ws: Loaded, now: datetime) -> list[tuple[Inbound, Where]]:
    """The messages of conversation n, oldest first, as the Telegram connector reads them from updates."""
    chat = str(CHAT_BASE + n)
    newest = now - timedelta(hours=1, minutes=n * 3)
    sender = Sender(chat, display_name=f"Contact {n}")
    where = Where(ws.id, ws.channels[n % CHANNELS], "telegram")
    return [
        (
            InboundMessage(
                platform="telegram",
                external_id=f"{chat}:{i + 1}",
                conversation_id=chat,
                sender=sender,
                at=newest - timedelta(minutes=count - 1 - i),
                text=TEXTS[(n + i) % len(TEXTS)],
            ),
            where,
        )
        for i in range(count)
    ]


async def create_workspace() -> Loaded:
    """The workspace, its Telegram channels (with the webhook secret the live part signs with) and its users."""
    workspace = await Workspace(name="bench inbox").insert()
    assert workspace.id is not None
    box = SecretBox.from_secret_key(SECRET_KEY)
    channels = []
    for i in range(CHANNELS):
        channel = await Channel(workspace_id=workspace.id, platform="telegram", name=f"bot {i}").insert()
        assert channel.id is not None
        credentials = ChannelCredentials(workspace_id=workspace.id, channel_id=channel.id)
        credentials.seal(box, {"bot_token": f"{i + 1}:x", "secret_token": TELEGRAM_SECRET})
        await credentials.insert()
        channels.append(channel.id)
    return Loaded(workspace.id, channels, [PydanticObjectId() for _ in range(USERS)])


async def load(conversations: int, messages: int, tag: bool) -> Loaded:
    """Record every message through `pipeline.process_many` in batches, then spread the inbox state."""
    ws = await create_workspace()
    counts = per_conversation(conversations, messages)
    tagger: pipeline.Tagger
    if tag:
        from scrm.nlp import Tagger

        tagger = await asyncio.to_thread(Tagger.load)
        print("tags: the shipped NLP models (scrm.nlp.Tagger) in pipeline.tag, as the worker runs them")
    else:
        tagger = SpreadTagger(7)
        print("tags: a seeded tagger (no NLP model CPU) through pipeline.tag; pass --tag for the real models")
    columns = (TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TextColumn("messages"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    started, now = time.perf_counter(), datetime.now(UTC)
    with Progress(*columns) as progress:
        task = progress.add_task("load", total=messages)
        batch: list[tuple[Inbound, Where]] = []
        for n, count in enumerate(counts):
            batch.extend(thread_items(n, count, ws, now))
            if len(batch) >= BATCH or n == conversations - 1:
                await pipeline.process_many(batch, datetime.now(UTC), tagger)
                progress.advance(task, len(batch))
                batch = []
    elapsed = time.perf_counter() - started
    print(
        f"loaded {conversations:,} conversations, {messages:,} messages through pipeline.process_many "
        f"in {elapsed:.0f} s: {messages / elapsed:,.0f} messages/s"
    )
    spread_started = time.perf_counter()
    await spread_state(ws)
    print(f"spread statuses, assignees, labels and unread counts in {time.perf_counter() - spread_started:.1f} s")
    return ws


async def spread_state(ws: Loaded) -> None:
    """Statuses, assignees, labels and unread counts as in a busy inbox, in bulk updates of 10,000."""
    collection = Conversation.get_pymongo_collection()
    later = datetime.now(UTC) + timedelta(days=1)
    updates = []
    async for row in collection.find({"workspace_id": ws.id}, {"_id": 1}).sort("_id", 1):
        status = random.choice(STATUSES)
        updates.append(
            UpdateOne(
                {"_id": row["_id"]},
                {
                    "$set": {
                        "status": status,
                        "assignee_id": random.choice(ws.users) if random.random() < 0.6 else None,
                        "labels": random.sample(LABELS, random.choice((0, 0, 1, 2))),
                        "unread_count": random.choice((0, 0, 0, 1, 2)),
                        "snoozed_until": later if status == "snoozed" else None,
                    }
                },
            )
        )
        if len(updates) == BATCH:
            await collection.bulk_write(updates, ordered=False)
            updates = []
    if updates:
        await collection.bulk_write(updates, ordered=False)


def scenarios(ws: Loaded) -> dict[str, InboxFilter]:
    """The filters people use most."""
    open_ = ConversationStatus.OPEN
    return {
        "open (default)": InboxFilter(status=open_),
        "all statuses": InboxFilter(),
        "resolved": InboxFilter(status=ConversationStatus.RESOLVED),
        "channel + open": InboxFilter(channel_id=ws.channels[1], status=open_),
        "assignee=me + open": InboxFilter(status=open_, assignee="me"),
        "unassigned + open": InboxFilter(status=open_, assignee="unassigned"),
        "label + open": InboxFilter(status=open_, label="refund"),
        "unread + open": InboxFilter(status=open_, unread=True),
        "sentiment=negative + open": InboxFilter(status=open_, sentiment="negative"),
        "intent=complaint + open": InboxFilter(status=open_, intent="complaint"),
        "intent=spam + negative": InboxFilter(sentiment="negative", intent="spam"),
        "language=zh + open": InboxFilter(status=open_, language="zh"),
        "language=other + open": InboxFilter(status=open_, language="other"),
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


def principals(ws: Loaded) -> tuple[Principal, Principal]:
    """An owner, and an agent limited to three channels (one of them the "channel" filter's)."""
    owner = Principal(ws.id, Role.OWNER, f"user:{ws.users[0]}")
    agent = Principal(ws.id, Role.AGENT, f"user:{ws.users[1]}", channel_ids=frozenset(ws.channels[:3]))
    return owner, agent


async def list_timings(ws: Loaded, runs: int) -> None:
    """Time every scenario for an owner and for an agent, then the next page and opening a conversation."""
    owner, agent = principals(ws)
    print(f"{'filter':34} {'owner p50':>10} {'p95':>8} {'agent p50':>10} {'p95':>8}  (ms, page of 30 + counts)")
    for name, wanted in scenarios(ws).items():
        o50, o95 = await timed(runs, lambda w=wanted: list_conversations(owner, w, None, 30))
        a50, a95 = await timed(runs, lambda w=wanted: list_conversations(agent, w, None, 30))
        print(f"{name:34} {o50:10.1f} {o95:8.1f} {a50:10.1f} {a95:8.1f}", flush=True)
    opened = InboxFilter(status=ConversationStatus.OPEN)
    first = await list_conversations(owner, opened, None, 30)
    agent_first = await list_conversations(agent, opened, None, 30)
    o50, o95 = await timed(runs, lambda: list_conversations(owner, opened, first.next_cursor, 30))
    a50, a95 = await timed(runs, lambda: list_conversations(agent, opened, agent_first.next_cursor, 30))
    print(f"{'page 2 of open (cursor)':34} {o50:10.1f} {o95:8.1f} {a50:10.1f} {a95:8.1f}")
    target = first.rows[0].conversation.id
    assert target is not None
    p50, p95 = await timed(runs, lambda: open_conversation(owner, target, datetime.now(UTC)))
    print(f"{'open one conversation (view)':34} {p50:10.1f} {p95:8.1f}", flush=True)


async def without_index(ws: Loaded, runs: int, name: str) -> None:
    """Drop one conversation index, time the scenarios again on the same data (an A/B in one run), restore it."""
    collection = Conversation.get_pymongo_collection()
    declared = {index.document["name"]: index for index in Conversation.Settings.indexes}
    await collection.drop_index(name)
    print(f"without the index {name}:", flush=True)
    try:
        await list_timings(ws, runs)
    finally:
        await collection.create_indexes([declared[name]])


WRITE_ROUND = 5_000
WRITE_BATCH = 1_000
WRITE_ROUNDS = 3
"""Rounds of new messages per side of the index write A/B."""


def new_messages(ws: Loaded, conversations: int, round_no: int) -> list[tuple[Inbound, Where]]:
    """`WRITE_ROUND` new messages, each to a random existing conversation (seeded by the round)."""
    pick = random.Random(round_no)
    now = datetime.now(UTC)
    items: list[tuple[Inbound, Where]] = []
    for k in range(WRITE_ROUND):
        n = pick.randrange(conversations)
        chat = str(CHAT_BASE + n)
        message = InboundMessage(
            platform="telegram",
            external_id=f"{chat}:w{round_no}-{k}",
            conversation_id=chat,
            sender=Sender(chat, display_name=f"Contact {n}"),
            at=now + timedelta(milliseconds=k),
            text=TEXTS[(n + k) % len(TEXTS)],
        )
        items.append((message, Where(ws.id, ws.channels[n % CHANNELS], "telegram")))
    return items


async def write_round(ws: Loaded, conversations: int, round_no: int) -> float:
    """Record one round of new messages in batches; return messages per second."""
    items = new_messages(ws, conversations, round_no)
    tagger = SpreadTagger(round_no)
    started = time.perf_counter()
    for start in range(0, len(items), WRITE_BATCH):
        await pipeline.process_many(items[start : start + WRITE_BATCH], datetime.now(UTC), tagger)
    return len(items) / (time.perf_counter() - started)


async def index_write_cost(ws: Loaded, conversations: int, name: str) -> None:
    """Messages/s recorded with and without one conversation index, in alternating rounds; the index is kept."""
    collection = Conversation.get_pymongo_collection()
    declared = {index.document["name"]: index for index in Conversation.Settings.indexes}
    rates: dict[bool, list[float]] = {True: [], False: []}
    print(f"writes with and without {name} (rounds of {WRITE_ROUND:,} new messages, batches of {WRITE_BATCH:,}):")
    for round_no in range(2 * WRITE_ROUNDS):
        indexed = round_no % 2 == 0
        if not indexed:
            await collection.drop_index(name)
        try:
            rate = await write_round(ws, conversations, 1000 + round_no)
        finally:
            if not indexed:
                await collection.create_indexes([declared[name]])
        rates[indexed].append(rate)
        print(f"  round {round_no + 1} {'with' if indexed else 'without'}: {rate:,.0f} messages/s", flush=True)
    with_index, without = statistics.median(rates[True]), statistics.median(rates[False])
    print(f"median: with {with_index:,.0f}, without {without:,.0f} messages/s ({with_index / without:.2f}x)")


async def prepare(uri: str, args: argparse.Namespace) -> Loaded:
    """A fresh database with the loaded workspace; prints the list timings."""
    database = await connect(uri, DATABASE)
    await database.client.drop_database(DATABASE)
    database = await connect(uri, DATABASE)
    try:
        ws = await load(args.conversations, args.messages, args.tag)
        await list_timings(ws, args.runs)
        if args.without_index:
            await without_index(ws, args.runs, args.without_index)
            await index_write_cost(ws, args.conversations, args.without_index)
        return ws
    finally:
        await database.close()


def main() -> None:
    """Start MongoDB, load, measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--tag", action="store_true", help="tag with the shipped NLP models (slower)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50, help="live deliveries per second")
    parser.add_argument("--duration", type=float, default=25, help="seconds of live deliveries")
    parser.add_argument("--no-live", action="store_true", help="skip the delivery-to-visible part")
    parser.add_argument(
        "--without-index", metavar="NAME", help="then drop this conversation index and time the filters again"
    )
    args = parser.parse_args()
    if args.messages < args.conversations:
        parser.error("--messages must be at least --conversations (every conversation has a message)")
    random.seed(6)
    with scratch_mongo() as (home, uri):
        print(f"{os.cpu_count()} cores; MongoDB at {uri}", flush=True)
        ws = asyncio.run(prepare(uri, args))
        if not args.no_live:
            owner, _ = principals(ws)
            setup = LiveSetup(uri, DATABASE, SECRET_KEY, TELEGRAM_SECRET, home, ws.channels, CHAT_BASE, owner)
            for line in delivery_to_visible(setup, args.rate, args.duration):
                print(line, flush=True)


if __name__ == "__main__":
    main()

"""Benchmark of inbox search: the list with `q`, for common and rare words in English and Chinese, and for people.

    .venv/bin/python bench/search.py [--conversations 20000] [--messages 200000] [--runs 30]

Starts its own embedded mongod (or uses SCRM_MONGODB_URI), then:
1. loads one workspace (20 Telegram channels): contacts, conversations and messages written with bulk inserts,
   each message built by the `Message` model (so with its `search_terms`), into collections whose indexes
   (the search index too) the app created first, so every insert maintains them. Texts are real customer
   messages, read at run time from the shared NLP corpora (`$SCRM_NLP_CORPORA`): English from banking77 and
   tweeteval, Chinese from online_shopping_10cats and waimai_10k; half the conversations are in each language,
   one message in four is our reply; each contact has a name (English or Chinese, 400 of each, so a full name is
   shared by about 25 contacts and a first name by about 500), a username and a phone number;
2. picks the query words from the loaded texts themselves: for each language the most common word (Chinese: the
   most common two-character word), a word about 1 in 1,000 messages contain, one about 1 in 50,000 contain, and
   a two-word (Chinese: three-character) query; then people: a full English name, a first name alone, a Chinese
   name, one Chinese character of a given name, a handle and a phone number; prints how many messages and how
   many contacts each matches;
3. times `list_conversations` with `q` — the page of 30, its contacts and channels, and the counts per status,
   exactly as `/inbox` and `/api/v1/conversations` run it — `--runs` times per query, for an owner (status
   `open`, the page's default tab) and for an agent limited to three channels, and prints p50/p95 in ms;
4. prints the search index's size, and how much of it the single Han characters take.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from rich.progress import Progress
from scratch import scratch_mongo

from scrm.auth.roles import Principal
from scrm.db import connect
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.inbox.search import contact_filter, term_filter
from scrm.models import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Identity,
    Message,
    Role,
    Workspace,
)
from scrm.nlp.datasets import corpora_root
from scrm.search_terms import query_terms, search_terms

CHANNELS = 20
BATCH = 10_000
DATABASE = "scrm_bench_search"
CORPORA = {"en": ("banking77", "tweeteval_sentiment"), "zh": ("online_shopping_10cats", "waimai_10k")}
STATUSES = (["open"] * 8) + (["pending"] * 2) + ["snoozed"] + (["resolved"] * 9)
FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN_NAMES = [
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
]


def person(n: int) -> tuple[str, str, str]:
    """Contact n's name, username and phone number: English names for even n, Chinese for odd (as the texts)."""
    pick = random.Random(n)
    if n % 2:
        name = pick.choice(SURNAMES) + pick.choice(GIVEN_NAMES)
        username = f"wx_{n}"
    else:
        first, last = pick.choice(FIRST_NAMES), pick.choice(LAST_NAMES)
        name, username = f"{first} {last}", f"{first.lower()}_{n}"
    return name, username, f"+86 13{n // 10_000} {n % 10_000:04d} {n % 10_000:04d}"


def corpus_texts(language: str) -> list[str]:
    """The distinct texts of a language's corpora (every `*.jsonl` file of each), in file order."""
    texts: dict[str, None] = {}
    for name in CORPORA[language]:
        for path in sorted((corpora_root() / name).glob("*.jsonl")):
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    text = str(json.loads(line).get("text") or "").strip()
                    if text:
                        texts.setdefault(text[:1000])
    return list(texts)


def raw(document: Any) -> dict[str, Any]:
    """A model as the bulk path inserts it, its `_id` chosen up front."""
    row: dict[str, Any] = document.model_dump(by_alias=True, exclude={"id"})
    row["_id"] = ObjectId()
    return row


async def load(conversations: int, messages: int, pools: dict[str, list[str]]) -> tuple[Any, list[str]]:
    """The workspace and, in order, the texts of every stored message."""
    workspace = await Workspace(name="bench search").insert()
    assert workspace.id is not None
    channels = []
    for i in range(CHANNELS):
        channel = await Channel(workspace_id=workspace.id, platform="telegram", name=f"bot {i}").insert()
        channels.append(channel.id)
    now = datetime.now(UTC)
    per = [messages // conversations + (1 if n < messages % conversations else 0) for n in range(conversations)]
    stored: list[str] = []
    contacts_out, conversations_out, messages_out = [], [], []
    with Progress() as progress:
        task = progress.add_task("Loading", total=messages)
        for n in range(conversations):
            pool = pools["zh" if n % 2 else "en"]
            channel_id = channels[n % CHANNELS]
            name, username, phone = person(n)
            identity = Identity(
                platform="telegram", external_id=str(7_000_000_000 + n), channel_id=channel_id, username=username
            )
            newest = now - timedelta(minutes=n * 3)
            contact = raw(
                Contact(workspace_id=workspace.id, name=name, identities=[identity], phone=phone, last_seen_at=newest)
            )
            conversation = raw(
                Conversation(
                    workspace_id=workspace.id,
                    channel_id=channel_id,
                    contact_id=contact["_id"],
                    platform="telegram",
                    external_id=identity.external_id,
                    status=ConversationStatus(random.choice(STATUSES)),
                    last_message_at=newest,
                    last_inbound_at=newest,
                )
            )
            for i in range(per[n]):
                text = random.choice(pool)
                message = Message(
                    workspace_id=workspace.id,
                    channel_id=channel_id,
                    conversation_id=conversation["_id"],
                    contact_id=contact["_id"],
                    platform="telegram",
                    external_id=f"{n}:{i}",
                    direction=Direction.OUTBOUND if i % 4 == 3 else Direction.INBOUND,
                    text=text,
                    sent_at=newest - timedelta(minutes=per[n] - 1 - i),
                    handled_at=now,
                )
                messages_out.append(raw(message))
                stored.append(text)
                conversation["last_message_preview"] = text[:140]
            contacts_out.append(contact)
            conversations_out.append(conversation)
            if len(messages_out) >= BATCH:
                await _flush(contacts_out, conversations_out, messages_out)
                progress.advance(task, len(messages_out))
                contacts_out, conversations_out, messages_out = [], [], []
        if messages_out or conversations_out:
            await _flush(contacts_out, conversations_out, messages_out)
            progress.advance(task, len(messages_out))
    return workspace, stored


async def _flush(contacts: list[Any], conversations: list[Any], messages: list[Any]) -> None:
    await Contact.get_pymongo_collection().insert_many(contacts, ordered=False)
    await Conversation.get_pymongo_collection().insert_many(conversations, ordered=False)
    if messages:
        await Message.get_pymongo_collection().insert_many(messages, ordered=False)


def pick_queries(stored: list[str]) -> dict[str, str]:
    """Query words drawn from the stored texts: common, ~1/1,000, ~1/50,000 and a two-word query per language."""
    english: Counter[str] = Counter()
    chinese: Counter[str] = Counter()
    trigrams: Counter[str] = Counter()
    for text in stored:
        for term in set(query_terms(text)):
            if term.isascii():
                if term.isalpha() and len(term) >= 4 and term != "user":  # tweeteval's stand-in for @mentions
                    english[term] += 1
            elif len(term) == 2 and term.isalpha():
                chinese[term] += 1
        for run in _han_runs(text):
            trigrams.update({run[i : i + 3] for i in range(len(run) - 2)})

    def near(counts: Counter[str], share: float) -> str:
        target = max(1, round(len(stored) * share))
        return min(counts, key=lambda word: (abs(counts[word] - target), word))

    common_en = english.most_common(1)[0][0]
    common_zh = chinese.most_common(1)[0][0]
    return {
        f"en common ({common_en})": common_en,
        "en 1/1,000": near(english, 1 / 1000),
        "en 1/50,000": near(english, 1 / 50_000),
        "en two words": f"{common_en} {near(english, 1 / 200)}",
        f"zh common ({common_zh})": common_zh,
        "zh 1/1,000": near(chinese, 1 / 1000),
        "zh 1/50,000": near(chinese, 1 / 50_000),
        "zh three characters": near(trigrams, 1 / 500),
    }


def people_queries(conversations: int) -> dict[str, str]:
    """Queries for people: names as a person would type them, a handle, a phone number as written."""
    en, zh = person(min(4242, conversations - 2) // 2 * 2), person(min(4243, conversations - 1) // 2 * 2 + 1)
    first = en[0].split()[0]
    return {
        f"name en ({en[0]})": en[0],
        f"name en first ({first})": first,
        f"name zh ({zh[0]})": zh[0],
        f"name zh one char ({zh[0][-1]})": zh[0][-1],
        f"handle (@{en[1]})": "@" + en[1],
        f"phone ({en[2].removeprefix('+86 ')})": en[2].removeprefix("+86 "),
    }


def _han_runs(text: str) -> Iterator[str]:
    run = ""
    for char in text:
        if "\u4e00" <= char <= "\u9fff":
            run += char
        elif run:
            yield run
            run = ""
    if run:
        yield run


async def timed(runs: int, work: Any) -> tuple[float, float]:
    """p50 and p95 of `work()` in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18]


async def measure(uri: str, args: argparse.Namespace) -> None:
    """Load, pick the words, time the list and print the index size."""
    database = await connect(uri, DATABASE)
    await database.client.drop_database(DATABASE)
    database = await connect(uri, DATABASE)
    try:
        pools = {language: corpus_texts(language) for language in CORPORA}
        print(f"corpora: {len(pools['en']):,} English and {len(pools['zh']):,} Chinese texts", flush=True)
        started = time.perf_counter()
        workspace, stored = await load(args.conversations, args.messages, pools)
        print(f"loaded {args.conversations:,} conversations, {len(stored):,} messages in "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        channels = [c.id async for c in Channel.find({"workspace_id": workspace.id})]
        owner = Principal(workspace.id, Role.OWNER, "user:bench")
        agent = Principal(workspace.id, Role.AGENT, "user:agent", channel_ids=frozenset(channels[:3]))
        messages = Message.get_pymongo_collection()
        contacts = Contact.get_pymongo_collection()
        print(f"{'query':30} {'messages':>9} {'contacts':>9} {'owner p50':>10} {'p95':>7} {'agent p50':>10} {'p95':>7}"
              "  (ms)")  # fmt: skip
        for name, query in (pick_queries(stored) | people_queries(args.conversations)).items():
            hits = await messages.count_documents({"workspace_id": workspace.id, **(term_filter(query) or {})})
            people = await contacts.count_documents({"workspace_id": workspace.id, **(contact_filter(query) or {})})
            wanted = InboxFilter(status=ConversationStatus.OPEN, q=query)
            await list_conversations(owner, wanted, None, 30)  # warm
            o50, o95 = await timed(args.runs, lambda w=wanted: list_conversations(owner, w, None, 30))
            a50, a95 = await timed(args.runs, lambda w=wanted: list_conversations(agent, w, None, 30))
            print(f"{name:30} {hits:9,} {people:9,} {o50:10.1f} {o95:7.1f} {a50:10.1f} {a95:7.1f}", flush=True)
        plain = InboxFilter(status=ConversationStatus.OPEN)
        o50, o95 = await timed(args.runs, lambda: list_conversations(owner, plain, None, 30))
        print(f"{'(no q: reference)':30} {'':9} {'':9} {o50:10.1f} {o95:7.1f}")
        stats = await database.client[DATABASE].command("collStats", "messages")
        index = stats["indexSizes"]["workspace_search"]
        keys = Counter(len(term) == 1 and not term.isascii() for t in stored for term in search_terms(t))
        print(f"search index: {index / 2**20:.1f} MiB for {stats['size'] / 2**20:.1f} MiB of messages "
              f"({index / len(stored):.0f} B a message); single Han characters: "
              f"{keys[True] / (keys[True] + keys[False]):.0%} of its keys")  # fmt: skip
        people_index = (await database.client[DATABASE].command("collStats", "contacts"))["indexSizes"]
        print(f"contact search index: {people_index['workspace_search'] / 2**20:.1f} MiB for {args.conversations:,} "
              "contacts")  # fmt: skip
    finally:
        await database.close()


def main() -> None:
    """Start MongoDB, load, measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    random.seed(14)
    with scratch_mongo() as (_, uri):
        print(f"{os.cpu_count()} cores; MongoDB at {uri}", flush=True)
        asyncio.run(measure(uri, args))


if __name__ == "__main__":
    main()

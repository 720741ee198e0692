"""Benchmark of the inbound path: webhook ingress, pipeline, and the lag from delivery to stored message.

    .venv/bin/python bench/ingest.py [--deliveries 20000] [--rate 500] [--duration 10]

Starts its own embedded mongod (or uses SCRM_MONGODB_URI), then, each as a real process over real HTTP:
1. the baselines: a bare Litestar endpoint checking an HMAC, and the naive design (one durable insert per
   request) — so that the figures below can be read as ratios measured in the same run on the same machine;
2. `scrm webhooks`: verified + durably stored Telegram deliveries per second (closed loop, 64 connections),
   then p50/p99 latency at a fixed rate (open loop);
3. the pipeline: raw events recorded per second by one worker (contacts, conversations, messages);
4. `scrm webhooks` + `scrm worker` together at a fixed rate: the lag from sending a delivery to its message
   being stored (p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from loadgen import Request, Results, closed_loop, open_loop
from scratch import free_port, scratch_mongo

from scrm.db import connect
from scrm.models import Channel, ChannelCredentials, Message, RawEvent, Workspace
from scrm.models.sealed import SecretBox
from scrm.nlp import Tagger
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context

SECRET_KEY = "bench-secret-key"  # noqa: S105 - a throwaway key for a throwaway database
TELEGRAM_SECRET = "bench-telegram-secret"  # noqa: S105
DATABASE = "scrm_bench_ingest"
ROOT = Path(__file__).resolve().parent.parent


def update(number: int, offset: int = 0) -> bytes:
    """A Telegram update with a text message from one of 1,000 people."""
    user = 10_000 + number % 1000
    body = {
        "update_id": offset + number,
        "message": {
            "message_id": offset + number,
            "from": {"id": user, "is_bot": False, "first_name": f"User {user}"},
            "chat": {"id": user, "type": "private"},
            "date": 1779270000,
            "text": f"Hello, is order {number} on its way? 你好，订单 {number} 发货了吗？",
        },
    }
    return json.dumps(body).encode()


@contextmanager
def server(command: list[str], env: dict[str, str], port: int, health: str) -> Iterator[None]:
    """Run a server process until the block ends; wait until `health` answers."""
    log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command} exited:\n{Path(log.name).read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{command} did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def describe(name: str, results: Results) -> str:
    """One line of figures."""
    codes = ", ".join(f"{code}×{count}" for code, count in sorted(results.statuses.items()))
    return (
        f"{name:<44} {results.rate:>8.0f}/s   p50 {results.percentile(50):6.1f} ms   "
        f"p99 {results.percentile(99):6.1f} ms   [{codes}]"
    )


async def prepare(uri: str) -> str:
    """A fresh database with one Telegram channel; returns the channel id."""
    database = await connect(uri, DATABASE)
    await database.client.drop_database(DATABASE)
    database = await connect(uri, DATABASE)
    workspace = await Workspace(name="bench").insert()
    assert workspace.id is not None
    channel = await Channel(workspace_id=workspace.id, platform="telegram", name="bench bot").insert()
    assert channel.id is not None
    credentials = ChannelCredentials(workspace_id=workspace.id, channel_id=channel.id)
    credentials.seal(SecretBox.from_secret_key(SECRET_KEY), {"bot_token": "1:x", "secret_token": TELEGRAM_SECRET})
    await credentials.insert()
    await database.close()
    return str(channel.id)


def _same(request: Request) -> Callable[[int], Request]:
    """A request factory that always sends `request`."""
    return lambda _: request


def baselines(uri: str, deliveries: int) -> list[str]:
    """The bare endpoint and the naive insert-per-request, as reference points."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "baseline_app:app", "--app-dir", "bench", "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    body = update(1)
    signed = {"x-signature": hmac.new(b"baseline-secret", body, hashlib.sha256).hexdigest()}
    lines = []
    with server(command, {"BENCH_MONGODB_URI": uri}, port, "/bare"):
        for path in ("/bare", "/naive"):
            requests = _same(Request(path, body, signed))
            results = asyncio.run(closed_loop("127.0.0.1", port, requests, deliveries // 2, 64))
            lines.append(describe(f"baseline {path} (closed loop, 64 conns)", results))
    return lines


def ingress(env: dict[str, str], port: int, channel: str, deliveries: int, rate: float, duration: float) -> list[str]:
    """`scrm webhooks`: maximum throughput, then latency at a fixed rate."""
    path = f"/webhooks/telegram/{channel}"
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": TELEGRAM_SECRET}
    command = [sys.executable, "-m", "scrm", "webhooks"]
    with server(command, env, port, "/health"):
        burst = asyncio.run(closed_loop("127.0.0.1", port, lambda n: Request(path, update(n), headers), deliveries, 64))
        steady, _ = asyncio.run(
            open_loop("127.0.0.1", port, lambda n: Request(path, update(n, 10_000_000), headers), rate, duration)
        )
    return [
        describe("scrm webhooks (closed loop, 64 conns)", burst),
        describe(f"scrm webhooks at {rate:.0f}/s (open loop)", steady),
    ]


async def pipeline_rate(uri: str) -> str:
    """Drain every pending raw event with one in-process worker; events recorded per second."""
    database = await connect(uri, DATABASE)
    settings = Settings.from_env({"SCRM_MONGODB_URI": uri, "SCRM_SECRET_KEY": SECRET_KEY})
    tagger = await asyncio.to_thread(Tagger.load)  # as the worker runs: every message is tagged
    context = pipeline_context(settings, lambda: datetime.now(UTC), tagger=tagger)
    pending = await RawEvent.find(RawEvent.status == "pending").count()
    started = time.perf_counter()
    while await drain_raw_events(context, limit=200):
        pass
    elapsed = time.perf_counter() - started
    messages = await Message.count()
    await database.close()
    label = "pipeline, one worker, tagging (raw event → message)"
    return f"{label:<44} {pending / elapsed:>8.0f}/s   ({messages} messages)"


def lag(env: dict[str, str], port: int, channel: str, rate: float, duration: float, uri: str) -> str:
    """Ingress and worker together at a fixed rate: from sending a delivery to its message being stored."""
    path = f"/webhooks/telegram/{channel}"
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": TELEGRAM_SECRET}
    offset = 50_000_000
    with server([sys.executable, "-m", "scrm", "webhooks"], env, port, "/health"):
        worker = subprocess.Popen([sys.executable, "-m", "scrm", "worker"], env={**os.environ, **env}, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            time.sleep(3)
            _, scheduled = asyncio.run(
                open_loop("127.0.0.1", port, lambda n: Request(path, update(n, offset), headers), rate, duration)
            )
            time.sleep(3)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    lags = asyncio.run(_lags(uri, scheduled, offset))
    lags.sort()
    if not lags:
        return "lag: no message was stored"
    p50, p99 = lags[len(lags) // 2] * 1000, lags[min(len(lags) - 1, int(0.99 * len(lags)))] * 1000
    return f"{f'delivery → stored message at {rate:.0f}/s':<44} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({len(lags)})"


async def _lags(uri: str, scheduled: dict[int, float], offset: int) -> list[float]:
    database = await connect(uri, DATABASE)
    lags: list[float] = []
    async for row in Message.get_pymongo_collection().find({}, {"external_id": 1, "created_at": 1}):
        _, _, message_id = str(row["external_id"]).partition(":")
        number = int(message_id) - offset
        if number in scheduled:
            created: datetime = row["created_at"]
            lags.append(created.timestamp() - scheduled[number])
    await database.close()
    return lags


def main() -> None:
    """Run every part and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    with scratch_mongo() as (home, uri):
        channel = asyncio.run(prepare(uri))
        port = free_port()
        env = {"SCRM_MONGODB_URI": uri, "SCRM_DATABASE": DATABASE, "SCRM_SECRET_KEY": SECRET_KEY,
               "SCRM_WEBHOOKS_PORT": str(port), "SCRM_LOG_LEVEL": "warning", "SCRM_HOME": home}  # fmt: skip
        print(f"{os.cpu_count()} cores; MongoDB at {uri}; {args.deliveries} deliveries", flush=True)
        for line in baselines(uri, args.deliveries):
            print(line, flush=True)
        for line in ingress(env, port, channel, args.deliveries, args.rate, args.duration):
            print(line, flush=True)
        print(asyncio.run(pipeline_rate(uri)), flush=True)
        print(lag(env, port, channel, args.rate, args.duration, uri), flush=True)


if __name__ == "__main__":
    main()

"""The worker role: the pipeline draining raw events, the scheduler's clock and the background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo.errors import PyMongoError

from scrm.channel_access import ChannelDirectory
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.credential_schedule import CHECK_JOB_SECONDS, check_due_channels
from scrm.delivery import DeliveryContext, run_delivery
from scrm.inbox.actions import wake_snoozed
from scrm.inbox.assignment import assign_waiting
from scrm.models import RawEvent, WorkerHeartbeat
from scrm.models.sealed import SecretBox
from scrm.pipeline import Tagger
from scrm.platform_state import MongoTokenStore
from scrm.scheduler import IntervalJob, create_scheduler
from scrm.settings import Settings
from scrm.sync import PipelineContext, drain_raw_events, poll

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10.0
WAKE_SNOOZED_SECONDS = 30.0
IDLE_POLL_SECONDS = 1.0
PULL_SYNC_SECONDS = 30.0
"""How often the clock looks for channels due for a pull; each channel has its own interval (`pull_schedule`)."""


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def process_id() -> str:
    """This process's name among scrm's workers: `<host>:<pid>`."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def beat(role: str, started_at: datetime, now: Callable[[], datetime]) -> None:
    """Record that this process is alive (an upsert of one document per process)."""
    await WorkerHeartbeat.get_pymongo_collection().update_one(
        {"_id": process_id()},
        {
            "$set": {"role": role, "seen_at": now()},
            "$setOnInsert": {"host": socket.gethostname(), "pid": os.getpid(), "started_at": started_at},
        },
        upsert=True,
    )


def background_jobs(role: str, now: Callable[[], datetime], shared: Shared | None = None) -> list[IntervalJob]:
    """The jobs every worker runs on the clock; each is an idempotent claim on MongoDB data.

    Given the worker's shared resources, the clock also pulls the channels whose platform supports pulling, and
    asks the platforms whether the channels' credentials still work (`credential_schedule`).
    """
    started_at = now()

    async def heartbeat() -> None:
        await beat(role, started_at, now)

    async def wake_conversations() -> None:
        await wake_snoozed(now())

    async def hand_out_queued() -> None:  # agents came online or freed a place: the teams' queues move
        await assign_waiting(now())

    jobs = [
        IntervalJob("heartbeat", heartbeat, HEARTBEAT_SECONDS),
        IntervalJob("wake_snoozed", wake_conversations, WAKE_SNOOZED_SECONDS),
        IntervalJob("assign_waiting", hand_out_queued, WAKE_SNOOZED_SECONDS),
    ]
    if shared is not None:
        jobs.append(pull_sync_job(shared))
        jobs.append(credential_check_job(shared, now))
    return jobs


@dataclass(frozen=True, slots=True)
class Shared:
    """What the pipeline, the pulls and the delivery of one worker share: one of each per process.

    One token bucket per channel for pulls and sends together, so that the two never add up to more than
    the platform's limit; one HTTP client; the NLP tagger loaded once.
    """

    pipeline: PipelineContext
    http: httpx.AsyncClient
    buckets: ChannelBuckets


def pull_sync_job(shared: Shared) -> IntervalJob:
    """Pull every channel whose interval has passed; a lease on each channel keeps other workers off it."""

    async def pull_due_channels() -> None:
        await poll(shared.pipeline, shared.http, buckets=shared.buckets)

    return IntervalJob("pull_sync", pull_due_channels, PULL_SYNC_SECONDS)


def credential_check_job(shared: Shared, now: Callable[[], datetime]) -> IntervalJob:
    """Ask the platforms about the credentials of channels not checked for a while, a few per run."""

    async def check_credentials() -> None:
        pipeline = shared.pipeline
        await check_due_channels(pipeline.channels.find, pipeline.tokens, shared.http, now())

    return IntervalJob("check_credentials", check_credentials, CHECK_JOB_SECONDS)


def pipeline_context(
    settings: Settings, now: Callable[[], datetime] = utcnow, tagger: Tagger | None = None
) -> PipelineContext:
    """What the pipeline needs in this process: channels and tokens opened with SCRM_SECRET_KEY, the tagger."""
    box = SecretBox.from_secret_key(settings.secret_key)
    return PipelineContext(
        channels=ChannelDirectory(box),
        tokens=MongoTokenStore(box, now),
        now=now,
        keep_raw=timedelta(days=settings.raw_event_ttl_days),
        tagger=tagger,
    )


async def load_tagger() -> Tagger:
    """The shipped NLP models, loaded once per worker process, off the event loop (spaCy reads its files)."""
    from scrm.nlp import Tagger as NlpTagger

    return await asyncio.to_thread(NlpTagger.load)


async def run_pipeline(context: PipelineContext, stop: asyncio.Event) -> None:
    """Drain raw events until `stop`: at once when a delivery is stored (change stream), else every second."""
    wake = asyncio.Event()
    watcher = asyncio.create_task(_watch_new_raw_events(wake))
    try:
        while not stop.is_set():
            try:
                claimed = await drain_raw_events(context)
            except PyMongoError as exc:
                log.warning("The pipeline could not drain raw events: %s", exc)
                claimed = 0
            if claimed == 0:
                wake.clear()
                await _first_of(wake.wait(), stop.wait(), within=IDLE_POLL_SECONDS)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def run_outbox(shared: Shared, stop: asyncio.Event) -> None:
    """Send queued outbound messages until `stop`, through the worker's shared client and buckets."""
    pipeline = shared.pipeline
    context = DeliveryContext(pipeline.channels, pipeline.tokens, shared.http, shared.buckets, pipeline.now)
    await run_delivery(context, stop)


@asynccontextmanager
async def running_worker(
    role: str, settings: Settings | None = None, jobs: Sequence[IntervalJob] | None = None
) -> AsyncIterator[None]:
    """Run the worker until the block exits: its clock, and (given settings) the pipeline, pulls and delivery."""
    async with AsyncExitStack() as stack:
        shared = await _open_shared(settings, stack) if settings is not None else None
        chosen = list(jobs) if jobs is not None else background_jobs(role, utcnow, shared)
        for job in chosen:
            if job.name == "heartbeat":
                await job.func()
        scheduler = create_scheduler(chosen)
        scheduler.start()
        stop = asyncio.Event()
        runners = []
        if shared is not None:
            runners = [asyncio.create_task(run_pipeline(shared.pipeline, stop)),
                       asyncio.create_task(run_outbox(shared, stop))]  # fmt: skip
        try:
            yield
        finally:
            stop.set()
            for runner in runners:
                await runner
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)


async def _open_shared(settings: Settings, stack: AsyncExitStack) -> Shared:
    http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)))
    buckets = ChannelBuckets(SystemClock())
    # the pipeline gets the client and buckets too: pulls a delivery asks for (WeCom 微信客服) share them
    context = replace(pipeline_context(settings, tagger=await load_tagger()), http=http, buckets=buckets)
    return Shared(pipeline=context, http=http, buckets=buckets)


async def _watch_new_raw_events(wake: asyncio.Event) -> None:
    """Set `wake` whenever a raw event is inserted; without change streams the worker just polls."""
    try:
        collection = RawEvent.get_pymongo_collection()
        async with await collection.watch([{"$match": {"operationType": "insert"}}]) as stream:
            async for _ in stream:
                wake.set()
    except PyMongoError as exc:
        log.info("No change stream on raw events (%s); the worker polls every %.0f s", exc, IDLE_POLL_SECONDS)


async def _first_of(*waits: Coroutine[Any, Any, Any], within: float) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()

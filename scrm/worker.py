"""The worker role: the scheduler's clock and the background jobs, in any process that runs it."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from scrm.models import WorkerHeartbeat
from scrm.scheduler import IntervalJob, create_scheduler

HEARTBEAT_SECONDS = 10.0


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


def background_jobs(role: str, now: Callable[[], datetime]) -> list[IntervalJob]:
    """The jobs every worker runs; later features add theirs here (each an idempotent claim on MongoDB)."""
    started_at = now()

    async def heartbeat() -> None:
        await beat(role, started_at, now)

    return [IntervalJob("heartbeat", heartbeat, HEARTBEAT_SECONDS)]


@asynccontextmanager
async def running_worker(role: str, jobs: Sequence[IntervalJob] | None = None) -> AsyncIterator[None]:
    """Run the worker's jobs on the clock until the block exits; one heartbeat is written before it starts."""

    def now() -> datetime:
        return datetime.now(UTC)

    chosen = list(jobs) if jobs is not None else background_jobs(role, now)
    for job in chosen:
        if job.name == "heartbeat":
            await job.func()
    scheduler = create_scheduler(chosen)
    scheduler.start()
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

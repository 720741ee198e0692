"""The clock: an APScheduler 3 AsyncIOScheduler running plain async functions on intervals.

Every job must be an idempotent claim on MongoDB data: the clock runs in every worker process, and two
processes running the same job at once must do the work once (APScheduler 3 has no cross-process lock).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler


@dataclass(frozen=True, slots=True)
class IntervalJob:
    """Run `func` every `seconds`, never two runs of it at once in this process."""

    name: str
    func: Callable[[], Awaitable[object]]
    seconds: float


def create_scheduler(jobs: Sequence[IntervalJob]) -> AsyncIOScheduler:
    """A scheduler (not yet started) with one interval job per entry; call `.start()` inside a running loop."""
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in jobs:
        scheduler.add_job(job.func, "interval", seconds=job.seconds, id=job.name, name=job.name)
    return scheduler

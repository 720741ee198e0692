"""The worker role: it runs the clock, says it is alive, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

from scrm.db import Database
from scrm.models import WorkerHeartbeat
from scrm.scheduler import IntervalJob
from scrm.worker import process_id, running_worker
from tests.conftest import TEST_SECRET_KEY
from tests.processes import start_scrm, stop


async def test_a_running_worker_records_its_heartbeat(database: Database) -> None:
    async with running_worker("worker"):
        beat = await WorkerHeartbeat.get(process_id())
    assert beat is not None
    assert beat.role == "worker"
    assert beat.pid == os.getpid()


async def test_interval_jobs_run_on_the_clock(database: Database) -> None:
    runs: list[float] = []

    async def tick() -> None:
        runs.append(time.monotonic())

    async with running_worker("worker", jobs=[IntervalJob("tick", tick, 0.05)]):
        for _ in range(100):
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.05)
    assert len(runs) >= 2


def test_scrm_worker_runs_until_sigterm(mongo_uri: str, database_name: str, tmp_path: Path) -> None:
    env = {
        "SCRM_MONGODB_URI": mongo_uri,
        "SCRM_DATABASE": database_name,
        "SCRM_HOME": str(tmp_path),
        "SCRM_SECRET_KEY": TEST_SECRET_KEY,
    }
    process = start_scrm(["worker"], env, tmp_path / "worker.log")
    try:
        client: MongoClient[dict[str, Any]]
        with MongoClient(mongo_uri) as client:
            beats: Collection[dict[str, Any]] = client[database_name]["worker_heartbeats"]
            deadline = time.monotonic() + 60
            while beats.find_one({"pid": process.pid}) is None:
                assert process.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "no heartbeat from the worker"
                time.sleep(0.2)
            assert beats.find_one({"pid": process.pid})["role"] == "worker"  # type: ignore[index]
            client.drop_database(database_name)
    finally:
        code = stop(process)
    assert code == 0, (tmp_path / "worker.log").read_text()

"""The embedded mongod: start, reuse, stop, recovery after a crash, and clear errors."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from scrm.embedded import EmbeddedMongo, EmbeddedMongoError, find_mongod
from tests.conftest import free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    mongo = EmbeddedMongo(tmp_path / "home", free_port())
    try:
        yield mongo
    finally:
        mongo.stop()


def _write_and_read(uri: str, value: str | None = None) -> str | None:
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        collection: Collection[dict[str, Any]] = client["lifecycle"]["notes"]
        if value is not None:
            collection.insert_one({"_id": "note", "value": value})
        found = collection.find_one({"_id": "note"})
        return None if found is None else str(found["value"])


def test_start_runs_a_primary_replica_set_and_stop_ends_it(server: EmbeddedMongo) -> None:
    assert server.start() is True
    status = server.status()
    assert status.running and status.primary
    assert status.version == "6.0.5"
    client: MongoClient[dict[str, Any]]
    with MongoClient(server.uri, serverSelectionTimeoutMS=10_000) as client:
        assert client.admin.command("replSetGetStatus")["set"] == "rs0"
    pid = status.pid
    assert pid is not None
    assert server.stop() is True
    assert not Path(f"/proc/{pid}").exists() or not server.status().running
    assert server.status().running is False
    assert server.stop() is False


def test_start_reuses_a_running_server(server: EmbeddedMongo) -> None:
    server.start()
    first = server.status().pid
    assert server.start() is False
    assert server.status().pid == first


def test_data_survives_a_restart(server: EmbeddedMongo) -> None:
    server.start()
    _write_and_read(server.uri, "kept")
    server.stop()
    server.start()
    assert _write_and_read(server.uri) == "kept"


def test_a_crash_leaves_a_stale_lock_that_the_next_start_recovers_from(server: EmbeddedMongo) -> None:
    server.start()
    _write_and_read(server.uri, "before the crash")
    pid = server.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    assert (server.data_dir / "mongod.lock").stat().st_size > 0  # what a crash leaves behind
    assert server.pid_path.exists()
    assert server.running_pid() is None
    assert server.start() is True
    assert server.status().primary
    assert _write_and_read(server.uri) == "before the crash"


def test_a_foreign_server_on_the_port_is_reported(server: EmbeddedMongo, tmp_path: Path) -> None:
    server.start()
    other = EmbeddedMongo(tmp_path / "other-home", server.port)
    with pytest.raises(EmbeddedMongoError, match="SCRM_MONGOD_PORT"):
        other.start()


def test_another_cpu_is_told_to_set_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    with pytest.raises(EmbeddedMongoError, match="SCRM_MONGODB_URI"):
        find_mongod()


def test_another_os_is_told_to_set_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    with pytest.raises(EmbeddedMongoError, match="x86_64 Linux only"):
        find_mongod()


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)

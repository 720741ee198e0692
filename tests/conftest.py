"""Test fixtures: one real mongod for the session (the embedded one), a fresh database for every test."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from pymongo import MongoClient

from scrm.app import create_app
from scrm.db import Database, connect
from scrm.embedded import EmbeddedMongo
from scrm.settings import Settings

FIXED_NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
TEST_SECRET_KEY = "test-secret-key-for-the-test-suite-only"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The connection string of the session's MongoDB: SCRM_TEST_MONGODB_URI, else a bundled mongod of our own."""
    given = os.environ.get("SCRM_TEST_MONGODB_URI")
    if given:
        _stop_ttl_monitor(given)
        yield given
        return
    server = EmbeddedMongo(tmp_path_factory.mktemp("mongo-home"), free_port())
    server.start()
    _stop_ttl_monitor(server.uri)
    try:
        yield server.uri
    finally:
        server.stop()


def _stop_ttl_monitor(uri: str) -> None:
    """Keep MongoDB's TTL monitor from deleting the tests' documents.

    Tests run on a fixed clock (`FIXED_NOW`, in the past), so sessions, presence and retained raw events expire
    "long ago" by the server's own clock, and the monitor (a pass every 60 s) would delete them in the middle of
    a test. No test relies on the monitor: the code always checks expiry times itself.
    """
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        client.admin.command({"setParameter": 1, "ttlMonitorEnabled": False})


@pytest.fixture
def database_name() -> str:
    """A database name no other test uses."""
    return f"scrm_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def database_env(monkeypatch: pytest.MonkeyPatch, mongo_uri: str, database_name: str) -> dict[str, str]:
    """SCRM_MONGODB_URI and SCRM_DATABASE set for commands run in this process (click's CliRunner)."""
    values = {"SCRM_MONGODB_URI": mongo_uri, "SCRM_DATABASE": database_name}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
async def database(mongo_uri: str, database_name: str) -> AsyncIterator[Database]:
    """A fresh database with every Beanie document bound and indexed; dropped afterwards."""
    db = await connect(mongo_uri, database_name)
    try:
        yield db
    finally:
        await db.client.drop_database(database_name)
        await db.close()


@pytest.fixture
def settings(mongo_uri: str, database_name: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database, with a private SCRM_HOME."""
    return Settings.from_env(
        {
            "SCRM_MONGODB_URI": mongo_uri,
            "SCRM_DATABASE": database_name,
            "SCRM_HOME": str(tmp_path / "home"),
            "SCRM_SECRET_KEY": TEST_SECRET_KEY,
        }
    )


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app` in this event loop, with the app's lifespan running around it.

    The app shares the test's event loop (PyMongo's async client is bound to the loop that created it),
    unlike Litestar's test client, which runs the app in a thread of its own. The lifespan runs in a task of
    its own because pytest-asyncio sets fixtures up and tears them down in different tasks.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    lifespan = asyncio.create_task(run_lifespan())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({lifespan, ready}, return_when=asyncio.FIRST_COMPLETED)
    if lifespan.done():
        ready.cancel()
        lifespan.result()  # start-up failed: raise its error
    try:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's ASGI types are narrower
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        stop.set()
        await lifespan


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the full app (UI, API, webhooks), its lifespan run against the test database."""
    async with serving(create_app(settings, webhooks=True)) as http:
        yield http


@pytest.fixture
def now() -> datetime:
    """A fixed clock for tests that need one."""
    return FIXED_NOW

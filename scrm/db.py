"""Connect to MongoDB (PyMongo's async client) and bind the Beanie documents to one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pymongo
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from scrm.embedded import EmbeddedMongo
from scrm.models import DOCUMENTS
from scrm.settings import Settings

HEALTH_TIMEOUT = 2.0
COMMAND_TIMEOUT_MS = 5000  # a command line gives up on an unreachable server after 5 s, with a clear message


@dataclass(frozen=True, slots=True)
class MongoHealth:
    """What `/health` reports about the database."""

    ok: bool
    version: str | None = None
    primary: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `/health`'s `mongodb` member."""
        shown: dict[str, Any] = {"ok": self.ok, "version": self.version, "primary": self.primary}
        if self.error:
            shown["error"] = self.error
        return shown


@dataclass(frozen=True, slots=True)
class Database:
    """An open client and the database scrm works in."""

    client: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]

    async def close(self) -> None:
        """Close every connection of the client."""
        await self.client.close()


def mongodb_uri(settings: Settings) -> str:
    """`SCRM_MONGODB_URI` when set, else the embedded server's address."""
    if settings.mongodb_uri:
        return settings.mongodb_uri
    return EmbeddedMongo(settings.home, settings.mongod_port).uri


async def connect(uri: str, database: str, *, timeout_ms: int = 10_000) -> Database:
    """Open a client, bind every Beanie document to `database` and create their indexes (idempotent)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms, appname="scrm"
    )
    db = client[database]
    try:
        await init_beanie(database=db, document_models=list(DOCUMENTS))
    except BaseException:
        await client.close()
        raise
    return Database(client=client, db=db)


async def check_health(database: Database) -> MongoHealth:
    """Ask the server for its version and whether it is a writable primary, within HEALTH_TIMEOUT seconds."""
    try:
        with pymongo.timeout(HEALTH_TIMEOUT):
            hello = await database.client.admin.command("hello")
            info = await database.client.admin.command("buildInfo")
    except PyMongoError as exc:
        return MongoHealth(ok=False, error=type(exc).__name__)
    return MongoHealth(ok=True, version=str(info.get("version")), primary=bool(hello.get("isWritablePrimary")))


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Connect for the length of a block (commands that run once), closing the client afterwards."""
    database = await connect(mongodb_uri(settings), settings.database, timeout_ms=COMMAND_TIMEOUT_MS)
    try:
        yield database
    finally:
        await database.close()

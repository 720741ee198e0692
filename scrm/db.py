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


RETIRED_INDEXES: dict[str, tuple[str, ...]] = {
    # Replaced by indexes that add the channel (and `_id`) after each filter's field, for agents' views.
    "conversations": (
        "inbox_by_status",
        "inbox_channel",
        "inbox_assignee",
        "inbox_labels",
        "inbox_sentiment",
        "inbox_intent",
    ),
    # A name was unique per workspace; personal canned responses made it unique per workspace and owner.
    "canned_responses": ("name_unique",),
}
"""Indexes earlier versions created that no model declares any more (Beanie creates indexes, never drops them).
Dropped before the models' indexes are created, so an old index can neither slow writes nor refuse them."""
_MISSING = {26, 27}  # NamespaceNotFound, IndexNotFound


async def drop_retired_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Drop the indexes in RETIRED_INDEXES that a database still has (nothing when it has none)."""
    for collection, names in RETIRED_INDEXES.items():
        for name in names:
            try:
                await db[collection].drop_index(name)
            except pymongo.errors.OperationFailure as exc:
                if exc.code not in _MISSING:
                    raise


async def connect(uri: str, database: str, *, timeout_ms: int = 10_000) -> Database:
    """Open a client, bind every Beanie document to `database` and create their indexes (idempotent)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms, appname="scrm"
    )
    db = client[database]
    try:
        await drop_retired_indexes(db)
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

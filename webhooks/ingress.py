"""accept(): store a verified delivery as a RawEvent, durably, with redeliveries as quiet no-ops.

Deliveries arriving together are written together: while one `insert_many` is in flight, the next ones queue,
and each request is answered only once the batch holding its event is durable (majority, journaled). This
is a database's group commit, applied to the ingress: a single process then stores far more deliveries per
second than one insert per request allows, and no platform is told "200" before its event is safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from scrm.channel_access import ChannelAccess
from scrm.models import RawEvent, RawEventStatus

DUPLICATE_KEY = 11000
MAX_BATCH = 500
DURABLE = WriteConcern(w="majority", j=True)


class RawEventWriter:
    """Writes raw events in group commits; `write` returns True for a new event, False for a redelivery."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], max_batch: int = MAX_BATCH) -> None:
        self._collection = collection.with_options(write_concern=DURABLE)
        self._max_batch = max_batch
        self._queue: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, document: dict[str, Any]) -> bool:
        """Queue one document and wait until its batch is durable; raises what the database raised."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((document, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        return await future

    async def _flush_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            await self._flush(batch)

    async def _flush(self, batch: list[tuple[dict[str, Any], asyncio.Future[bool]]]) -> None:
        outcomes: list[bool | BaseException] = [True] * len(batch)
        try:
            await self._collection.insert_many([document for document, _ in batch], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                duplicate = error.get("code") == DUPLICATE_KEY
                outcomes[error["index"]] = False if duplicate else BulkWriteError({"writeErrors": [error]})
            if exc.details.get("writeConcernErrors"):
                outcomes = [exc] * len(batch)
        except Exception as exc:  # every waiting request must hear about it, or it would hang
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


def raw_event_document(
    channel: ChannelAccess, event_id: str, body: bytes, headers: Mapping[str, str], received_at: datetime
) -> dict[str, Any]:
    """The RawEvent as stored: the exact bytes received, the headers that matter, pending."""
    return {
        "_id": ObjectId(),
        "workspace_id": channel.workspace_id,
        "created_at": received_at,
        "channel_id": channel.channel_id,
        "platform": channel.platform,
        "event_id": event_id,
        "body": body,
        "headers": dict(headers),
        "status": RawEventStatus.PENDING.value,
        "error": "",
        "attempts": 0,
        "received_at": received_at,
        "lease_until": None,
        "processed_at": None,
        "expire_at": None,
    }


def new_writer() -> RawEventWriter:
    """A writer on the raw-events collection of the bound database."""
    return RawEventWriter(RawEvent.get_pymongo_collection())

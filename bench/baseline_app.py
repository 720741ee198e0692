"""Baselines for bench/ingest.py: a bare endpoint, and the naive design (one durable insert per request).

Run by the benchmark as `uvicorn baseline_app:app`; `BENCH_MONGODB_URI` names the database server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Request, post
from litestar.exceptions import NotAuthorizedException
from pymongo import AsyncMongoClient, WriteConcern

SECRET = b"baseline-secret"


def _verified(request: Request[Any, Any, Any], body: bytes) -> None:
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-signature", "")):
        raise NotAuthorizedException()


@post("/bare", status_code=200)
async def bare(request: Request[Any, Any, Any]) -> str:
    """Verify the HMAC, store nothing."""
    _verified(request, await request.body())
    return ""


@post("/naive", status_code=200)
async def naive(request: Request[Any, Any, Any]) -> str:
    """Verify the HMAC and insert the delivery on its own, durably, before answering."""
    body = await request.body()
    _verified(request, body)
    collection = request.app.state.collection
    await collection.insert_one({"body": body, "received_at": datetime.now(UTC)})
    return ""


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the database for the naive endpoint."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["BENCH_MONGODB_URI"])
    durable = WriteConcern(w="majority", j=True)
    app.state.collection = client["bench_baseline"]["deliveries"].with_options(write_concern=durable)
    yield
    await client.drop_database("bench_baseline")
    await client.close()


app = Litestar(route_handlers=[bare, naive], lifespan=[lifespan])

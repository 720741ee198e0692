"""`GET /health`: is this process able to serve, and is MongoDB reachable and primary?"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from scrm import __version__
from scrm.db import Database, check_health


@get("/health", tags=["system"], summary="Health of this process and of MongoDB")
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 with `status: ok` when MongoDB answers as a writable primary; 503 with `ok: false` otherwise."""
    database: Database = request.app.state.database
    mongo = await check_health(database)
    ok = mongo.ok and mongo.primary
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "mongodb": mongo.to_dict()}
    return Response(content=body, status_code=200 if ok else 503)

"""The lifespan every scrm app shares: MongoDB and one HTTP client, opened once and closed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import httpx
from litestar import Litestar

from scrm.db import connect, mongodb_uri
from scrm.settings import Settings
from scrm.worker import running_worker

HTTP_TIMEOUT = httpx.Timeout(15.0)


def resources_lifespan(
    settings: Settings, *, worker_role: str | None = None
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan putting `database` and `http` on `app.state`; with a role, it also runs the worker."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await connect(mongodb_uri(settings), settings.database)
            stack.push_async_callback(database.close)
            app.state.database = database
            app.state.http = await stack.enter_async_context(httpx.AsyncClient(timeout=HTTP_TIMEOUT))
            if worker_role is not None:
                await stack.enter_async_context(running_worker(worker_role, settings))
            yield

    return lifespan

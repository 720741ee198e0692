"""The lifespan every scrm app shares: MongoDB and one HTTP client, opened once and closed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import httpx
from litestar import Litestar

from scrm.db import connect, mongodb_uri
from scrm.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(15.0)


def resources_lifespan(
    settings: Settings, *, also: Callable[[], AbstractAsyncContextManager[None]] | None = None
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan putting `database` and `http` on `app.state`, and running `also` (the worker) inside.

    The worker arrives as an argument so that the webhook ingress, which shares this lifespan, never imports
    the worker (and through it spaCy).
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await connect(mongodb_uri(settings), settings.database)
            stack.push_async_callback(database.close)
            app.state.database = database
            app.state.http = await stack.enter_async_context(httpx.AsyncClient(timeout=HTTP_TIMEOUT))
            if also is not None:
                await stack.enter_async_context(also())
            yield

    return lifespan

"""Running scrm's roles as processes: uvicorn for the web apps, a wait-for-signal loop for the worker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

import uvicorn
import uvloop
from litestar import Litestar

from scrm.db import connect, mongodb_uri
from scrm.settings import Settings
from scrm.worker import running_worker


def serve(app: Litestar, host: str, port: int, log_level: str) -> None:
    """Serve `app` with uvicorn until SIGINT or SIGTERM; uvicorn finishes in-flight requests first."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=True,
        lifespan="on",
        timeout_graceful_shutdown=5,  # open server-sent event streams must not hold a shutdown for long
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(f"scrm could not serve on {host}:{port} (see the error above).")


def run_worker(settings: Settings) -> None:
    """Run the worker role (the pipeline, the clock and its jobs) until SIGINT or SIGTERM, on uvloop.

    uvloop, as uvicorn uses for the web roles: the worker spends most of its time in the MongoDB driver's
    socket I/O, which it makes markedly cheaper.
    """
    uvloop.run(_worker(settings))


async def _worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    database = await connect(mongodb_uri(settings), settings.database)
    try:
        async with running_worker("worker", settings):
            await stop.wait()
    finally:
        await database.close()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so that `finally` blocks (stopping mongod) run on either signal."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

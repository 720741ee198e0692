"""Pulling one channel's streams into the pipeline: batches, cursors saved after recording, what errors mean.

`scrm.sync` decides which channel to pull and when; this module does the pulling of one channel's streams.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, Protocol

import httpx

from scrm import pipeline
from scrm.channel_access import ChannelAccess
from scrm.connectors.base import Connector
from scrm.connectors.errors import ConnectorError, RateLimited, RequestRejected, TemporaryFailure
from scrm.connectors.http import Pulled, RestStream, is_at_or_after
from scrm.connectors.items import Inbound
from scrm.connectors.ratelimit import Clock, TokenBucket
from scrm.connectors.stores import CursorStore, CursorValue
from scrm.events import Where
from scrm.pull_schedule import SyncLease, renew

log = logging.getLogger(__name__)
PULL_BATCH = 200
"""Pulled items recorded together: a batch costs a handful of round trips to MongoDB whatever its size."""


WAIT_NOTICE_SECONDS = 1.0
"""Waits at least this long (a rate limit, a retry) are reported; shorter ones are ordinary pacing."""
PULL_CONFLICTS: Mapping[str, str] = {
    "telegram": (
        "skipped: a webhook is set for this bot and Telegram refuses getUpdates while it is (409 Conflict); "
        "its updates arrive through the webhook. To pull instead, remove the webhook with the Bot API's "
        "deleteWebhook method."
    ),
}
"""What a 409 from a platform's pull API means, for the platforms whose pull cannot run beside a webhook."""


class LeaseLost(RuntimeError):
    """The channel's sync lease ran out and another process took it: this pull stops where it is."""


@dataclass
class StreamResult:
    """What pulling one stream did: items pulled and newly recorded, the cursor reached, or why it stopped."""

    stream: str
    pulled: int = 0
    new: int = 0
    cursor: CursorValue | None = None
    skipped: str = ""
    failed: str = ""
    unhealthy: str = ""
    """The connector's reason when the error means the channel needs a person (refused credentials)."""


@dataclass
class SyncResult:
    """What pulling one channel did, stream by stream."""

    channel_id: str
    platform: str
    streams: list[StreamResult] = field(default_factory=list)
    unhealthy: str = ""

    @property
    def problem(self) -> str:
        """The streams that were skipped or failed and why, in one line; empty when every stream worked."""
        return "; ".join(f"{s.stream}: {s.skipped or s.failed}" for s in self.streams if s.skipped or s.failed)


class SyncObserver(Protocol):
    """Follows a pull as it goes: for a progress bar, or for the log."""

    def stream_started(self, stream: str) -> None:
        """A stream starts pulling."""

    def items_pulled(self, stream: str, total: int) -> None:
        """The stream has pulled `total` items so far."""

    def waiting(self, seconds: float) -> None:
        """The pull waits `seconds` before calling the platform again (a rate limit or a retry)."""

    def stream_finished(self, result: StreamResult) -> None:
        """A stream is done, or stopped."""


class LoggingObserver:
    """Reports a pull in the log: long waits and how each stream ended."""

    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id

    def stream_started(self, stream: str) -> None:
        """Nothing to say yet."""

    def items_pulled(self, stream: str, total: int) -> None:
        """Nothing to say per item."""

    def waiting(self, seconds: float) -> None:
        """Say that the platform made the pull wait."""
        log.info("Channel %s: waiting %.0f s for the platform (rate limit or retry)", self.channel_id, seconds)

    def stream_finished(self, result: StreamResult) -> None:
        """Say how the stream ended."""
        if result.skipped or result.failed:
            log.warning("Channel %s, stream %s: %s", self.channel_id, result.stream, result.skipped or result.failed)
        else:
            log.info(
                "Channel %s, stream %s: %d pulled, %d new", self.channel_id, result.stream, result.pulled, result.new
            )


@dataclass
class ChannelPull:
    """Everything pulling one channel's streams needs."""

    channel: ChannelAccess
    where: Where
    prepare: Callable[[Inbound], Inbound]
    """What the webhook path also does to an item before recording it (the channel's own posts get no author)."""
    now: Callable[[], datetime]
    tagger: pipeline.Tagger | None
    connector: Connector
    http: httpx.AsyncClient
    bucket: TokenBucket
    clock: Clock
    cursors: CursorStore
    observer: SyncObserver
    full: bool
    lease: SyncLease | None

    async def keep_lease(self) -> None:
        """Renew the lease after a recorded batch; raises `LeaseLost` when another process has the channel."""
        if self.lease is not None:
            self.lease = await renew(self.lease, self.now())
            if self.lease is None:
                raise LeaseLost(f"Another process took over the pull of channel {self.channel.channel_id}")


async def pull_stream(pull: ChannelPull, stream: type[RestStream[Any]]) -> StreamResult:
    """Pull one stream, turning a platform error into the stream's outcome."""
    result = StreamResult(stream.name)
    fields = {name for _, name, _, _ in string.Formatter().parse(stream.path) if name}
    needed = fields | (pull.connector.credential_keys - pull.connector.webhook_keys)
    missing = sorted(needed - set(pull.channel.credentials))
    if missing:
        result.skipped = f"skipped: the channel has no {', '.join(missing)}, which this stream needs"
        pull.observer.stream_finished(result)
        return result
    pull.observer.stream_started(stream.name)
    try:
        await _pull_stream(pull, stream, result)
    except ConnectorError as exc:
        _explain(pull, exc, result)
    pull.observer.stream_finished(result)
    return result


async def _pull_stream(pull: ChannelPull, stream: type[RestStream[Any]], result: StreamResult) -> None:
    """Pull a stream from its saved cursor (none with `full`), recording in batches, saving the cursor after."""
    channel_id = str(pull.channel.channel_id)
    start = None if pull.full else await pull.cursors.find_cursor(channel_id, stream.name)
    batch = _PulledBatch(pull, stream, start, result)
    bucket = _RecordFirst(pull.bucket, pull.clock, batch.record)
    opened = pull.connector.open_stream(stream, pull.http, pull.channel.credentials, bucket)
    try:
        async for pulled in opened.iter_pulled(start):
            batch.add(pulled)
            if len(batch.items) >= PULL_BATCH:
                await batch.record()
    except ConnectorError:
        await batch.record()  # what did arrive is kept; an unordered stream's cursor stays where it was
        raise
    await batch.finish()


def _explain(pull: ChannelPull, error: ConnectorError, result: StreamResult) -> None:
    """Say why a stream stopped, and whether the channel itself needs attention."""
    platform = pull.channel.platform
    if isinstance(error, RequestRejected) and error.status == HTTPStatus.CONFLICT and platform in PULL_CONFLICTS:
        result.skipped = PULL_CONFLICTS[platform]
    elif reason := pull.connector.diagnose(error):
        result.failed = result.unhealthy = reason
    elif isinstance(error, RateLimited):
        wait = f" for {error.retry_after:.0f} s" if error.retry_after is not None else ""
        result.failed = f"rate limited{wait}, longer than a pull waits; the next pull resumes from the cursor ({error})"
    elif isinstance(error, TemporaryFailure):
        result.failed = f"the platform failed; the next pull resumes from the cursor ({error})"
    else:
        result.failed = f"the platform refused the request ({error})"


class _PulledBatch:
    """Pulled items waiting to be recorded together, and the stream cursor to save once they are."""

    def __init__(
        self, pull: ChannelPull, stream: type[RestStream[Any]], start: CursorValue | None, result: StreamResult
    ) -> None:
        self.pull, self.stream, self.result = pull, stream, result
        self.items: list[tuple[Inbound, Where]] = []
        self.where = pull.where
        self.highest, self.saved = start, start

    def add(self, pulled: Pulled[Any]) -> None:
        """Hold one pulled item, noting its cursor when it is the highest yet."""
        self.items.append((self.pull.prepare(pulled.item), self.where))
        cursor = pulled.cursor
        if cursor is not None and (self.highest is None or is_at_or_after(cursor, self.highest)):
            self.highest = cursor
        self.result.pulled += 1
        self.pull.observer.items_pulled(self.stream.name, self.result.pulled)

    async def record(self) -> None:
        """Record the held items in one pipeline call; an ordered stream's cursor then moves past them."""
        if not self.items:
            return
        events = await pipeline.process_many(self.items, self.pull.now(), self.pull.tagger)
        self.result.new += sum(event is not None for event in events)
        self.items = []
        await self.pull.keep_lease()
        if self.stream.ordered:
            await self._save_cursor()

    async def finish(self) -> None:
        """Record what is held and save the cursor: the stream was pulled to its end."""
        await self.record()
        await self._save_cursor()

    async def _save_cursor(self) -> None:
        self.result.cursor = self.highest
        if self.highest is not None and self.highest != self.saved:
            await self.pull.cursors.save_cursor(str(self.pull.channel.channel_id), self.stream.name, self.highest)
            self.saved = self.highest


class _RecordFirst(TokenBucket):
    """The channel's token bucket, recording what was pulled so far before each further call to the platform.

    Telegram confirms, and then drops, every update below the offset of the next `getUpdates` call
    (telegram.md d): asking for the next page before the last one is recorded would lose it in a crash.
    Recording before every call keeps any platform whose next page consumes the last one safe.
    """

    def __init__(self, shared: TokenBucket, clock: Clock, before_call: Callable[[], Awaitable[None]]) -> None:
        super().__init__(shared.rate, shared.capacity, clock)
        self._shared = shared
        self._before_call = before_call

    async def acquire(self) -> None:
        """Record what is held, then wait on the channel's own bucket."""
        await self._before_call()
        await self._shared.acquire()


@dataclass(frozen=True, slots=True)
class NoticingClock:
    """A clock that tells the observer about each wait long enough for a person to notice."""

    inner: Clock
    observer: SyncObserver

    def now(self) -> datetime:
        """The inner clock's time."""
        return self.inner.now()

    def monotonic(self) -> float:
        """The inner clock's monotonic time."""
        return self.inner.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Report a long wait, then wait."""
        if seconds >= WAIT_NOTICE_SECONDS:
            self.observer.waiting(seconds)
        await self.inner.sleep(seconds)

"""drain_raw_events() and the pulls: webhook deliveries and pulled items, recorded through the pipeline.

`drain_raw_events` turns stored webhook deliveries into recorded items; `sync_channel` pulls a channel's
streams from its platform's API (`scrm sync`), and `poll` pulls every channel whose interval has passed
(the scheduler's job), one process per channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

import httpx
from pymongo.errors import PyMongoError

from scrm import pipeline, raw_events
from scrm.channel_access import ChannelAccess, ChannelDirectory
from scrm.channel_health import mark_unhealthy as show_channel_problem
from scrm.connectors.base import Capability, Connector, PullRequest
from scrm.connectors.errors import ConnectorError
from scrm.connectors.items import Inbound, InboundPost, Sender
from scrm.connectors.ratelimit import ChannelBuckets, Clock, SystemClock
from scrm.connectors.registry import get_connector
from scrm.connectors.stores import TokenStore
from scrm.events import Where
from scrm.models import RawEvent
from scrm.platform_state import MongoCursorStore
from scrm.pull_schedule import SyncLease, claim_channel, claim_due, pull_interval, pullable_platforms, release
from scrm.pulling import ChannelPull, LoggingObserver, NoticingClock, SyncObserver, SyncResult, pull_stream

log = logging.getLogger(__name__)
BATCH = 200
"""Deliveries recorded together: a batch costs a handful of round trips to MongoDB whatever its size."""
DISABLED_RECHECK = timedelta(minutes=1)
"""How long a delivery to a disabled channel waits, pending, before a worker looks at the channel again."""
REQUESTED_PULL_TIMEOUT = timedelta(seconds=60)
"""Longest a pull a delivery asked for may take; after it the delivery is retried (the cursor keeps the place)."""


@dataclass(frozen=True, slots=True)
class PipelineContext:
    """What processing needs from the process it runs in: channels, tokens, the tagger, the clock."""

    channels: ChannelDirectory
    tokens: TokenStore
    now: Callable[[], datetime]
    keep_raw: timedelta
    tagger: pipeline.Tagger | None = None
    http: httpx.AsyncClient | None = None
    """The worker's client, for pulls a delivery asks for (WeCom 微信客服); without it one is opened per drain."""
    buckets: ChannelBuckets | None = None
    """The worker's token buckets, shared with its pulls and sends."""
    clock: Clock | None = None
    """Paces those pulls' waits (retries, rate limits); the system clock when None."""

    def connector(self, platform: str) -> Connector:
        """The connector of `platform`, sharing this process's token store."""
        return get_connector(platform, self.tokens)


async def drain_raw_events(context: PipelineContext, limit: int = BATCH) -> int:
    """Claim one batch of pending deliveries and record their items together; returns how many were claimed.

    A body that cannot be parsed is kept as failed (never dropped); a passing database or platform problem
    puts the whole batch back for a later attempt, which is safe because recording is idempotent.
    """
    claimed = await raw_events.claim(context.now(), limit)
    batch: list[tuple[Inbound, Where]] = []
    parsed: list[RawEvent] = []
    asking: list[tuple[RawEvent, list[PullRequest]]] = []
    for event in claimed:
        items = await _parse(event, context)
        if items is not None:
            batch.extend(items)
            parsed.append(event)
            connector = context.connector(event.platform)
            if asked := [ask for item, _ in items if (ask := connector.pull_requested(item)) is not None]:
                asking.append((event, asked))
    try:
        await pipeline.process_many(batch, context.now(), context.tagger)
    except (PyMongoError, ConnectorError) as exc:
        log.warning("%d raw events will be retried: %s", len(parsed), exc)
        for event in parsed:
            await raw_events.retry_later(event, f"{type(exc).__name__}: {exc}", context.now())
        return len(claimed)
    waiting = {event.id for event, _ in asking}
    await raw_events.mark_processed([e for e in parsed if e.id not in waiting], context.now(), context.keep_raw)
    for event, asked in asking:
        await _pull_for(event, asked, context)
    return len(claimed)


async def _pull_for(event: RawEvent, asked: list[PullRequest], context: PipelineContext) -> None:
    """Run the pulls a delivery asked for; the delivery is processed once they ran to their end, else retried.

    The stored delivery is the durable record of the request: it stays pending until its pulls recorded what
    they read and saved their cursors, so a crash or a failed call repeats the pull from the saved cursor
    (nothing lost), and recording is idempotent (nothing twice). The webhook itself never waits for it.
    """
    channel = await context.channels.find(str(event.channel_id))
    problem = "The channel no longer exists"
    if channel is not None:
        try:
            async with asyncio.timeout(REQUESTED_PULL_TIMEOUT.total_seconds()):
                problem = await _run_requested(channel, asked, context) or ""
        except TimeoutError:
            problem = f"the pull took longer than {REQUESTED_PULL_TIMEOUT.total_seconds():.0f} s"
    if problem:
        await raw_events.retry_later(event, f"the pull it asked for stopped: {problem}", context.now())
    else:
        await raw_events.mark_processed([event], context.now(), context.keep_raw)


async def _run_requested(channel: ChannelAccess, asked: list[PullRequest], context: PipelineContext) -> str | None:
    """Pull each requested stream of `channel` from its saved cursor; the first problem, or None when all ran."""
    own_client = context.http is None
    http = context.http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
    try:
        for ask in asked:
            clock = context.clock or SystemClock()
            connector = get_connector(channel.platform, context.tokens, clock)
            own = connector.own_ids(channel.credentials)
            buckets = context.buckets or ChannelBuckets(clock)
            pull = ChannelPull(
                channel=replace(channel, credentials={**channel.credentials, **ask.credentials}),
                where=_where(channel),
                prepare=partial(_without_own_author, own=own),
                now=context.now,
                tagger=context.tagger,
                connector=connector,
                http=http,
                bucket=buckets.for_channel(str(channel.channel_id), connector.rate_limit),
                clock=clock,
                cursors=MongoCursorStore(channel.workspace_id, context.now),
                observer=LoggingObserver(str(channel.channel_id)),
                full=False,
                lease=None,
            )
            outcome = await pull_stream(pull, ask.stream)
            if outcome.unhealthy:
                await show_channel_problem(channel.channel_id, outcome.unhealthy, context.now())
            if outcome.failed or outcome.skipped:
                return outcome.failed or outcome.skipped
        return None
    finally:
        if own_client:
            await http.aclose()


async def _parse(event: RawEvent, context: PipelineContext) -> list[tuple[Inbound, Where]] | None:
    """The delivery's items with where they happened; None when it cannot be read (marked failed) or waits (held)."""
    channel = await context.channels.find(str(event.channel_id))
    if channel is None:
        await raw_events.mark_failed(event, "The channel no longer exists", context.now())
        return None
    if channel.is_disabled:  # kept, not failed: processed once someone enables the channel again
        await raw_events.hold(event, context.now() + DISABLED_RECHECK)
        return None
    connector = context.connector(event.platform)
    try:
        items = connector.parse_webhook(event.body, channel.credentials)
        problem = connector.channel_problem(event.body, channel.credentials)
    except Exception as exc:  # any parse error: the body verified, so it is kept and shown as failed
        await raw_events.mark_failed(event, f"Cannot parse the body: {type(exc).__name__}: {exc}", context.now())
        return None
    if problem is not None:
        await show_channel_problem(channel.channel_id, problem, context.now())
    where, own = _where(channel), connector.own_ids(channel.credentials)
    return [(_without_own_author(item, own), where) for item in items]


def _without_own_author(item: Inbound, own: frozenset[str]) -> Inbound:
    """A post by the channel's own account is ours: it gets no contact."""
    if isinstance(item, InboundPost) and item.author.platform_user_id in own:
        return replace(item, author=Sender(""))
    return item


def _where(channel: ChannelAccess) -> Where:
    return Where(workspace_id=channel.workspace_id, channel_id=channel.channel_id, platform=channel.platform)


# The pull half: a channel's streams pulled from its platform's API, recorded through the same pipeline.

POLL_LIMIT = 20
"""Channels one scheduler tick pulls at most, so that a tick ends and the next one can share the work."""


class UnknownChannel(LookupError):
    """No channel has the id asked for."""


class ChannelBusy(RuntimeError):
    """Another process is pulling the channel right now (it holds the channel's sync lease)."""


async def sync_channel(
    context: PipelineContext,
    http: httpx.AsyncClient,
    channel_id: str,
    *,
    buckets: ChannelBuckets,
    full: bool = False,
    observer: SyncObserver | None = None,
    clock: Clock | None = None,
    lease: SyncLease | None = None,
) -> SyncResult:
    """Pull every stream of a channel into the pipeline: its history first, later only what is new.

    Items are recorded in batches and a stream's cursor is saved only after the batch holding its item was
    recorded, so a pull that dies anywhere resumes without losing or repeating anything (cursors compare
    with `>=`, recording is idempotent). `full` ignores the saved cursors. An error that means the channel
    needs a person (`connector.diagnose`) marks it unhealthy and ends the pull; other errors end one stream.
    Raises `UnknownChannel`, and `LeaseLost` when `lease` is given and another process took it over.
    """
    channel = await context.channels.find(channel_id)
    if channel is None:
        raise UnknownChannel(f"No channel {channel_id}")
    watcher = observer or LoggingObserver(channel_id)
    pace = clock or SystemClock()
    connector = get_connector(channel.platform, context.tokens, NoticingClock(pace, watcher))
    own = connector.own_ids(channel.credentials)
    pull = ChannelPull(
        channel=channel,
        where=_where(channel),
        prepare=lambda item: _without_own_author(item, own),
        now=context.now,
        tagger=context.tagger,
        connector=connector,
        http=http,
        bucket=buckets.for_channel(channel_id, connector.rate_limit),
        clock=pace,
        cursors=MongoCursorStore(channel.workspace_id, context.now),
        observer=watcher,
        full=full,
        lease=lease,
    )
    result = SyncResult(channel_id, channel.platform)
    for stream in connector.streams if Capability.PULL in connector.capabilities else ():
        outcome = await pull_stream(pull, stream)
        result.streams.append(outcome)
        if outcome.unhealthy:
            result.unhealthy = outcome.unhealthy
            await show_channel_problem(channel.channel_id, outcome.unhealthy, context.now())
            break
    return result


async def sync_now(
    context: PipelineContext,
    http: httpx.AsyncClient,
    channel_id: str,
    *,
    buckets: ChannelBuckets,
    full: bool = False,
    observer: SyncObserver | None = None,
    clock: Clock | None = None,
) -> SyncResult:
    """Pull one channel now (`scrm sync`), holding its lease so that no scheduled pull runs beside it.

    Raises `UnknownChannel`, or `ChannelBusy` while another process pulls the channel.
    """
    channel = await context.channels.find(channel_id)
    if channel is None:
        raise UnknownChannel(f"No channel {channel_id}")
    lease = await claim_channel(channel.channel_id, channel.workspace_id, context.now())
    if lease is None:
        raise ChannelBusy(f"Channel {channel_id} is being pulled by another process; try again in a while")
    return await _sync_leased(context, http, channel, lease, buckets, full=full, observer=observer, clock=clock)


async def poll(
    context: PipelineContext,
    http: httpx.AsyncClient,
    *,
    buckets: ChannelBuckets,
    clock: Clock | None = None,
    limit: int = POLL_LIMIT,
) -> list[SyncResult]:
    """Pull the channels whose interval has passed, each under a lease so that one worker pulls it at a time.

    Safe to run in every worker at once: each channel is claimed with `find_one_and_update`. A channel whose
    pull fails is logged and released; the others still run.
    """
    results: list[SyncResult] = []
    platforms = pullable_platforms()
    for _ in range(limit):
        lease = await claim_due(context.now(), platforms)
        if lease is None:
            break
        channel = await context.channels.find(str(lease.channel_id))
        if channel is None:
            continue  # deleted since the claim; its lease goes with it
        try:
            results.append(await _sync_leased(context, http, channel, lease, buckets, clock=clock))
        except Exception:  # one channel's failure (a bug, a lost lease) must not stop the others' pulls
            log.exception("The pull of channel %s failed", lease.channel_id)
    return results


async def _sync_leased(
    context: PipelineContext,
    http: httpx.AsyncClient,
    channel: ChannelAccess,
    lease: SyncLease,
    buckets: ChannelBuckets,
    *,
    full: bool = False,
    observer: SyncObserver | None = None,
    clock: Clock | None = None,
) -> SyncResult:
    """Pull a channel whose lease we hold, then release it with its next due time and what went wrong."""
    problem = "the pull stopped before its end"
    try:
        result = await sync_channel(
            context,
            http,
            str(channel.channel_id),
            buckets=buckets,
            full=full,
            observer=observer,
            clock=clock,
            lease=lease,
        )
        problem = result.problem
        return result
    except Exception as exc:
        problem = f"the pull stopped before its end: {type(exc).__name__}: {exc}"
        raise
    finally:
        now = context.now()
        interval = pull_interval(channel.platform, channel.config)
        await release(lease, now, now + interval if interval is not None else None, problem)

"""deliver_due(): send what the outbox holds — the only caller of `connector.send`.

A round claims a batch of due rows, checks each (block, consent, window, quiet hours, cap), then sends the
cleared ones with bounded concurrency, each after its channel's token bucket lets it through.

Exactly once, as far as the platforms allow: none of them takes an idempotency key we can keep across a
crash, so a message is sent twice only if the process dies after the platform accepted it and before the
result is stored. That window is kept to the platform's answer plus one group commit:
1. `SendingMarks` marks the row `sending` (only if this round still holds it) right before the call;
2. the platform's answer is written at once, the outbound `Message` before the row (see `Ledger`);
3. a row still `sending` after its lease is settled by `outbound_queue.settle_interrupted`: `sent` when its
   Message exists, queued again only when its source said a duplicate is better than a loss, else `failed`
   with "unknown outcome after a crash; check the conversation". It is never re-sent blindly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import httpx
from beanie import PydanticObjectId
from pymongo import UpdateOne
from pymongo.errors import PyMongoError

from scrm import messaging_windows, outbound_queue
from scrm.channel_access import ChannelAccess, ChannelDirectory
from scrm.channel_health import mark_unhealthy
from scrm.connectors.base import Connector, ReplyKind
from scrm.connectors.errors import (
    ConnectorError,
    MessageLimitReached,
    MessagingWindowClosed,
    RateLimited,
    RecipientUnavailable,
    RequestRejected,
    TemporaryFailure,
    UnknownPlatform,
)
from scrm.connectors.ratelimit import ChannelBuckets, RateLimit, TokenBucket
from scrm.connectors.registry import get_connector
from scrm.connectors.stores import TokenStore
from scrm.delivery_checks import Job, decide, read_facts
from scrm.inbox import comment_replies
from scrm.ingest_profiles import complete_profile
from scrm.models import Channel, ChannelStatus, OutboundMessage, OutboundStatus
from scrm.outbound_queue import Ledger, Outcome, SendingMarks

log = logging.getLogger(__name__)
BATCH = 200
CONCURRENCY = 16
"""Platform calls in flight at once per worker: httpx costs more CPU per call as its pool grows (DESIGN §11);
bench/delivery.py measured 2.3 ms of CPU per message at 16 against 3.0 ms at 32, for the same sends/s."""
SEND_TIMEOUT = timedelta(minutes=5)
"""Longest a platform call may take, inline retries included; shorter than outbound_queue.SENDING_LEASE."""
MAX_ATTEMPTS = 5
MAX_BACKOFF = timedelta(hours=1)
IDLE_POLL_SECONDS = 1.0
RATE_OVERRIDE = "send_rate_per_second"
"""A channel's `config` key for a send rate other than its platform's declared one (a higher WhatsApp tier)."""


@dataclass(frozen=True)
class DeliveryContext:
    """What sending needs from the process: channels, tokens, one HTTP client, per-channel buckets, a clock."""

    channels: ChannelDirectory
    tokens: TokenStore
    http: httpx.AsyncClient
    buckets: ChannelBuckets
    now: Callable[[], datetime]
    """Stamps outcomes as they happen (`sent_at`); a round's checks use the `now` it was given."""
    batch: int = BATCH
    concurrency: int = CONCURRENCY
    _connectors: dict[str, Connector] = field(default_factory=dict)

    def connector(self, platform: str) -> Connector:
        """The connector of `platform`, one per process; raises UnknownPlatform."""
        found = self._connectors.get(platform)
        if found is None:
            found = self._connectors[platform] = get_connector(platform, self.tokens)
        return found

    def bucket(self, channel: ChannelAccess, connector: Connector) -> TokenBucket:
        """The channel's token bucket, at its platform's declared rate unless the channel sets its own."""
        override = channel.config.get(RATE_OVERRIDE)
        limit = connector.rate_limit
        if isinstance(override, int | float) and override > 0:
            limit = RateLimit(calls=max(1, int(override)), per=timedelta(seconds=1))
        return self.buckets.for_channel(str(channel.channel_id), limit)


async def deliver_due(context: DeliveryContext, now: datetime) -> int:
    """Send one batch of due messages and record every outcome; returns how many rows were claimed."""
    rows = await outbound_queue.claim(now, context.batch, uuid.uuid4().hex, await paused_channels())
    if not rows:
        return 0
    ledger = Ledger()
    interrupted = [row for row in rows if row.status is OutboundStatus.SENDING]
    if interrupted:
        await ledger.write_all(await outbound_queue.settle_interrupted(interrupted, now))
    jobs = await _check([row for row in rows if row.status is OutboundStatus.QUEUED], context, now, ledger)
    state = _Round(ledger, SendingMarks(), asyncio.Semaphore(context.concurrency))
    await asyncio.gather(*(_deliver(job, context, state) for job in jobs))
    return len(rows)


@dataclass
class _Round:
    """One round's shared state: its group commits, its concurrency gate, the channels found broken."""

    ledger: Ledger
    marks: SendingMarks
    gate: asyncio.Semaphore
    broken: set[PydanticObjectId] = field(default_factory=set)


async def run_delivery(context: DeliveryContext, stop: asyncio.Event) -> None:
    """Deliver until `stop`: round after round while rows are due, else at once when a row is queued
    (change stream) and at least every IDLE_POLL_SECONDS, for rows whose `not_before` has come.

    A loop rather than a 1-second clock job: an inbox reply goes out within milliseconds of being queued, and a
    backlog is sent back to back instead of one batch per tick.
    """
    wake = asyncio.Event()
    watcher = asyncio.create_task(_watch_queued(wake))
    try:
        while not stop.is_set():
            wake.clear()  # before the round: a row queued during it starts the next one at once
            try:
                claimed = await deliver_due(context, context.now())
            except PyMongoError as exc:
                log.warning("Delivery could not claim or record outbound messages: %s", exc)
                claimed = 0
            except Exception:  # a bug must not stop every send of the process; the round's leases run out
                log.exception("A delivery round failed")
                claimed = 0
            if claimed == 0:
                waits = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
                await asyncio.wait(waits, timeout=IDLE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                for task in waits:
                    task.cancel()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _watch_queued(wake: asyncio.Event) -> None:
    """Set `wake` whenever a message is queued; without change streams the loop just polls."""
    try:
        collection = OutboundMessage.get_pymongo_collection()
        async with await collection.watch([{"$match": {"operationType": "insert"}}]) as stream:
            async for _ in stream:
                wake.set()
    except PyMongoError as exc:
        log.info("No change stream on outbound messages (%s); delivery polls every %.0f s", exc, IDLE_POLL_SECONDS)


async def paused_channels() -> list[PydanticObjectId]:
    """Channels that are not active: their messages wait, queued, until someone repairs the channel."""
    found = Channel.get_pymongo_collection().find({"status": {"$ne": ChannelStatus.ACTIVE.value}}, {"_id": 1})
    return [PydanticObjectId(raw["_id"]) async for raw in found]


async def _check(rows: list[OutboundMessage], context: DeliveryContext, now: datetime, ledger: Ledger) -> list[Job]:
    """Clear the rows that may go out now; record the verdict of every other one in one commit."""
    if not rows:
        return []
    facts = await read_facts(rows, now)
    jobs: list[Job] = []
    verdicts: list[UpdateOne] = []
    for row in rows:
        channel = await context.channels.find(str(row.channel_id))
        if channel is None:
            verdicts.append(outbound_queue.failed(row, "the channel no longer exists"))
            continue
        try:
            connector = context.connector(channel.platform)
        except UnknownPlatform as exc:
            verdicts.append(outbound_queue.failed(row, str(exc)))
            continue
        verdict = decide(row, channel, connector, facts, now)
        if isinstance(verdict, Job):
            jobs.append(verdict)
        else:
            verdicts.append(verdict)
    if verdicts:
        await ledger.write_all(verdicts)
    return jobs


async def _deliver(job: Job, context: DeliveryContext, state: _Round) -> None:
    """Send one cleared message once its channel's bucket allows, and record what happened.

    The gate bounds the platform calls in flight, not the recording: a slot frees as soon as the platform answers.
    """
    await context.bucket(job.channel, job.connector).acquire()
    async with state.gate:
        outcome = await _attempt(job, context, state)
    if outcome is not None:
        await state.ledger.write(*outcome)
    if outcome is not None and outcome[1] is not None and job.reply.kind is ReplyKind.MESSAGE:
        # sent: a contact known only by id (LINE) gets the platform's name and picture, once
        await complete_profile(job.connector, context.http, job.channel.credentials, job.row.contact_id, job.reply.to)


async def _attempt(job: Job, context: DeliveryContext, state: _Round) -> Outcome | None:
    """Mark the row sending and call the platform; return what to record (None: another round has the row)."""
    row = job.row
    if row.channel_id in state.broken:
        return outbound_queue.released(row, attempted=False), None, None
    if not await state.marks.mark(row, job.thread.id if job.thread else None, context.now()):
        return None  # another round holds the row now: it is theirs to send
    try:
        async with asyncio.timeout(SEND_TIMEOUT.total_seconds()):
            # the row's id is the retry key of every attempt at it (LINE X-Line-Retry-Key sends a retry once)
            reply = replace(job.reply, idempotency_key=str(row.id))
            external_id = await job.connector.send(context.http, job.channel.credentials, reply)
    except ConnectorError as exc:
        return await _after_error(job, exc, context.now(), state.broken), None, None
    except TimeoutError:
        return outbound_queue.failed(row, "no answer from the platform in time; check the conversation"), None, None
    except Exception as exc:  # the platform may have acted on the call: never retried blindly
        log.exception("Sending outbound message %s failed unexpectedly", row.id)
        reason = f"unexpected error while sending ({type(exc).__name__}: {exc}); check the conversation"
        return outbound_queue.failed(row, reason), None, None
    if job.reply.kind is ReplyKind.COMMENT:  # our public reply joins the comment thread, before the row is sent
        await comment_replies.record_public_reply(row, external_id, context.now())
    return _sent(job, external_id, context.now())


async def _after_error(job: Job, error: ConnectorError, now: datetime, broken: set[PydanticObjectId]) -> UpdateOne:
    """The row's update after the platform refused or failed: wait, give up, or hold it for a broken channel."""
    row, attempts = job.row, job.row.attempts + 1
    problem = job.connector.diagnose(error) or _refused_credentials(job, error)
    if problem is not None:
        broken.add(row.channel_id)
        await mark_unhealthy(row.channel_id, problem, now)
        return outbound_queue.released(row, attempted=True)
    if isinstance(error, RateLimited):  # never gives up: the platform will let it through later
        wait = timedelta(seconds=error.retry_after) if error.retry_after is not None else _backoff(attempts)
        return outbound_queue.rescheduled(row, now + wait, f"rate limited by the platform: {error}")
    if isinstance(error, TemporaryFailure):
        if attempts >= MAX_ATTEMPTS:
            return outbound_queue.failed(row, f"gave up after {attempts} attempts: {error}")
        return outbound_queue.rescheduled(row, now + _backoff(attempts), f"will retry: {error}")
    return outbound_queue.failed(row, _refusal_reason(job, error))


def _refused_credentials(job: Job, error: ConnectorError) -> str | None:
    """A 401 the connector did not name: the credentials were refused (RFC 9110 §15.5.2), so the channel needs
    attention and its messages wait rather than fail (the Bot API answers a revoked token with 401)."""
    if isinstance(error, RequestRejected) and error.status == 401:
        return f"{job.channel.platform}: the platform refused the channel's credentials ({error})"
    return None


def _refusal_reason(job: Job, error: ConnectorError) -> str:
    """Say, for people, why the platform refused the message."""
    if isinstance(error, MessagingWindowClosed):
        window = messaging_windows.window_for(job.channel.platform, job.reply)
        return f"outside {window.name if window else 'the messaging window'} (the platform refused it: {error})"
    if isinstance(error, MessageLimitReached):
        return f"the platform's message limit for this conversation is used up: {error}"
    if isinstance(error, RecipientUnavailable):
        return f"the contact cannot receive messages from this channel: {error}"
    return f"the platform refused the message: {error}"


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** (attempts - 1)))


def _sent(job: Job, external_id: str, at: datetime) -> Outcome:
    """The row's update with the platform's id, and the outbound Message that shows it in its conversation."""
    thread_id = job.thread.id if job.thread else None
    kind = job.reply.kind
    if kind is ReplyKind.COMMENT or (kind is ReplyKind.PRIVATE_REPLY and job.row.conversation_id is None):
        thread_id = None  # a public reply is not a message of any conversation; a private one only of the one it names
    return outbound_queue.delivered(job.row, job.channel.platform, thread_id, job.reply.text, external_id or None, at)

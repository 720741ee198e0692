"""drain_raw_events(): turn stored webhook deliveries into recorded items, through the connectors and the pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.errors import PyMongoError

from scrm import pipeline, raw_events
from scrm.channel_access import ChannelAccess, ChannelDirectory
from scrm.connectors.base import Connector
from scrm.connectors.errors import ConnectorError
from scrm.connectors.items import Inbound
from scrm.connectors.registry import get_connector
from scrm.connectors.stores import TokenStore
from scrm.events import Where
from scrm.models import RawEvent

log = logging.getLogger(__name__)
BATCH = 200
"""Deliveries recorded together: a batch costs a handful of round trips to MongoDB whatever its size."""


@dataclass(frozen=True, slots=True)
class PipelineContext:
    """What processing needs from the process it runs in: channels, tokens, the tagger, the clock."""

    channels: ChannelDirectory
    tokens: TokenStore
    now: Callable[[], datetime]
    keep_raw: timedelta
    tagger: pipeline.Tagger | None = None

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
    for event in claimed:
        items = await _parse(event, context)
        if items is not None:
            batch.extend(items)
            parsed.append(event)
    try:
        await pipeline.process_many(batch, context.now(), context.tagger)
    except (PyMongoError, ConnectorError) as exc:
        log.warning("%d raw events will be retried: %s", len(parsed), exc)
        for event in parsed:
            await raw_events.retry_later(event, f"{type(exc).__name__}: {exc}", context.now())
        return len(claimed)
    await raw_events.mark_processed(parsed, context.now(), context.keep_raw)
    return len(claimed)


async def _parse(event: RawEvent, context: PipelineContext) -> list[tuple[Inbound, Where]] | None:
    """The delivery's items with where they happened; None (and the event marked failed) when it cannot be read."""
    channel = await context.channels.find(str(event.channel_id))
    if channel is None:
        await raw_events.mark_failed(event, "The channel no longer exists", context.now())
        return None
    try:
        items = context.connector(event.platform).parse_webhook(event.body, channel.credentials)
    except Exception as exc:  # any parse error: the body verified, so it is kept and shown as failed
        await raw_events.mark_failed(event, f"Cannot parse the body: {type(exc).__name__}: {exc}", context.now())
        return None
    where = _where(channel)
    return [(item, where) for item in items]


def _where(channel: ChannelAccess) -> Where:
    return Where(workspace_id=channel.workspace_id, channel_id=channel.channel_id, platform=channel.platform)

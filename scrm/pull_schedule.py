"""When each channel is pulled from its platform next, and the lease that lets one process pull it at a time.

The scheduler's clock runs in every worker (APScheduler 3 has no cross-process lock), so a scheduled pull is
an idempotent claim: `find_one_and_update` puts a lease on one due channel, and a worker asking at the same
moment finds that channel taken. A crashed holder's lease runs out and the channel can be claimed again;
a holder renews its lease after each recorded batch, so a long backfill keeps it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ASCENDING, ReturnDocument

from scrm.connectors.base import Capability
from scrm.connectors.registry import CONNECTORS
from scrm.models import Channel, ChannelStatus, across_workspaces

PULL_INTERVALS: Mapping[str, timedelta] = {
    "telegram": timedelta(minutes=5),  # pending updates are kept for 24 h only (telegram.md d)
    "x": timedelta(minutes=15),  # X counts its rate limits in 15-minute windows (x.md d)
    "meta": timedelta(minutes=15),
    "wecom": timedelta(hours=1),
    # follower lists have no cursor and are walked whole each time, against daily API quotas (wechat.md d)
    "wechat": timedelta(hours=6),
    "line": timedelta(hours=6),
}
"""How often the scheduler pulls a channel of each platform, unless the channel says otherwise."""
DEFAULT_PULL_INTERVAL = timedelta(minutes=5)
INTERVAL_KEY = "sync_interval_seconds"
"""The channel config value that overrides its platform's interval; 0 or less turns scheduled pulls off."""
LEASE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SyncLease:
    """The right to pull one channel until `until`, held by the process that took it (`holder`)."""

    channel_id: PydanticObjectId
    workspace_id: PydanticObjectId
    holder: str
    until: datetime


def pullable_platforms() -> list[str]:
    """The platforms whose connector can pull (declares `Capability.PULL` and at least one stream)."""
    return sorted(c.platform for c in CONNECTORS if Capability.PULL in c.capabilities and c.streams)


def pull_interval(platform: str, config: Mapping[str, Any]) -> timedelta | None:
    """How often the scheduler pulls a channel: its `sync_interval_seconds`, else its platform's default.

    None when the channel turned scheduled pulls off (an interval of 0 or less); `scrm sync` still works.
    """
    given = config.get(INTERVAL_KEY)
    if given is None:
        return PULL_INTERVALS.get(platform, DEFAULT_PULL_INTERVAL)
    try:
        seconds = float(given)
    except (TypeError, ValueError):
        return PULL_INTERVALS.get(platform, DEFAULT_PULL_INTERVAL)
    return timedelta(seconds=seconds) if seconds > 0 else None


async def claim_due(now: datetime, platforms: Sequence[str], lease: timedelta = LEASE) -> SyncLease | None:
    """Take the lease on the active channel that has waited longest for its pull; None when none is due."""
    due = {
        "platform": {"$in": list(platforms)},
        "status": ChannelStatus.ACTIVE.value,
        f"config.{INTERVAL_KEY}": {"$not": {"$lte": 0}},
        "$and": [
            {"$or": [{"sync_due_at": None}, {"sync_due_at": {"$lte": now}}]},
            {"$or": [{"sync_lease_until": None}, {"sync_lease_until": {"$lte": now}}]},
        ],
    }
    with across_workspaces("the scheduler pulls the due channels of every workspace"):
        return await _take(due, now, lease, sort=[("sync_due_at", ASCENDING)])


async def claim_channel(
    channel_id: PydanticObjectId, workspace_id: PydanticObjectId, now: datetime, lease: timedelta = LEASE
) -> SyncLease | None:
    """Take the lease on one channel whatever its schedule (a pull asked for by hand); None while it is held."""
    free = {
        "_id": channel_id,
        "workspace_id": workspace_id,
        "$or": [{"sync_lease_until": None}, {"sync_lease_until": {"$lte": now}}],
    }
    return await _take(free, now, lease)


async def renew(held: SyncLease, now: datetime, lease: timedelta = LEASE) -> SyncLease | None:
    """Extend a lease still held; None when it ran out and another process took the channel."""
    mine = {"_id": held.channel_id, "workspace_id": held.workspace_id, "sync_lease_holder": held.holder}
    until = now + lease
    found = await Channel.get_pymongo_collection().find_one_and_update(
        mine, {"$set": {"sync_lease_until": until}}, projection={"_id": 1}
    )
    return None if found is None else SyncLease(held.channel_id, held.workspace_id, held.holder, until)


async def release(held: SyncLease, now: datetime, next_due: datetime | None, problem: str) -> None:
    """Give the channel back after a pull: when it ended, what it could not do, when it is due again."""
    mine = {"_id": held.channel_id, "workspace_id": held.workspace_id, "sync_lease_holder": held.holder}
    done = {
        "synced_at": now,
        "sync_due_at": next_due,
        "sync_problem": problem,
        "sync_lease_until": None,
        "sync_lease_holder": "",
    }
    await Channel.get_pymongo_collection().update_one(mine, {"$set": done})


async def _take(
    match: Mapping[str, Any], now: datetime, lease: timedelta, sort: list[tuple[str, int]] | None = None
) -> SyncLease | None:
    holder, until = uuid.uuid4().hex, now + lease
    found = await Channel.get_pymongo_collection().find_one_and_update(
        match,
        {"$set": {"sync_lease_until": until, "sync_lease_holder": holder}},
        projection={"_id": 1, "workspace_id": 1},
        sort=sort,
        return_document=ReturnDocument.AFTER,
    )
    if found is None:
        return None
    return SyncLease(PydanticObjectId(found["_id"]), PydanticObjectId(found["workspace_id"]), holder, until)

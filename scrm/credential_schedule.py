"""Scheduled credential checks: every active or unhealthy channel is asked about every few hours, a few per run.

A revoked token is then noticed before a customer's reply fails on it, and a fixed one (a new token pasted on
the platform's side, an IP whitelisted) without anyone pressing "Check now". Every worker runs the job; a
channel is claimed by a conditional update of its `credentials_checked_at` (`find_one_and_update` on a stamp
older than the period), so two workers asking at once check it once. An outage counts as an attempt: the
channel is asked again one period later, and nothing about its health changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from beanie import PydanticObjectId
from pymongo import ASCENDING, ReturnDocument

from scrm.channel_access import ChannelAccess
from scrm.channel_checks import ChannelCheckFailed, ask_platform, checks_credentials, record_check
from scrm.connectors.registry import CONNECTORS, get_connector
from scrm.connectors.stores import TokenStore
from scrm.models import Channel, ChannelStatus, across_workspaces

log = logging.getLogger(__name__)

CHECK_PERIOD = timedelta(hours=6)
"""How long a check's answer stands before the schedule asks the platform again."""
CHECKS_PER_RUN = 5
"""At most this many channels are checked per run of the job, so a large install never floods a platform."""
CHECK_JOB_SECONDS = 300

FindChannel = Callable[[str], Awaitable[ChannelAccess | None]]
"""Reads a channel's platform and credentials by id (`ChannelDirectory.find`)."""


@dataclass(frozen=True, slots=True)
class ScheduledCheck:
    """One channel the schedule asked about: the platform's problem, None when accepted; `failed` for an outage."""

    channel_id: PydanticObjectId
    problem: str | None
    failed: str = ""


def checkable_platforms() -> list[str]:
    """The platforms whose connector has a credential check."""
    return sorted(c.platform for c in CONNECTORS if checks_credentials(c))


async def claim_unchecked(
    now: datetime, platforms: list[str], period: timedelta = CHECK_PERIOD
) -> tuple[PydanticObjectId, PydanticObjectId] | None:
    """Stamp and return (id, workspace) of the channel checked longest ago, if that is more than `period` ago."""
    due = {
        "platform": {"$in": platforms},
        "status": {"$in": [ChannelStatus.ACTIVE.value, ChannelStatus.UNHEALTHY.value]},
        "$or": [{"credentials_checked_at": None}, {"credentials_checked_at": {"$lte": now - period}}],
    }
    with across_workspaces("the schedule checks the credentials of every workspace's channels"):
        found = await Channel.get_pymongo_collection().find_one_and_update(
            due,
            {"$set": {"credentials_checked_at": now}},
            projection={"_id": 1, "workspace_id": 1},
            sort=[("credentials_checked_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
    if found is None:
        return None
    return PydanticObjectId(found["_id"]), PydanticObjectId(found["workspace_id"])


async def check_due_channels(
    find: FindChannel,
    tokens: TokenStore,
    http: httpx.AsyncClient,
    now: datetime,
    limit: int = CHECKS_PER_RUN,
    period: timedelta = CHECK_PERIOD,
) -> list[ScheduledCheck]:
    """Check up to `limit` channels whose last check is older than `period`, and record each answer."""
    platforms = checkable_platforms()
    done: list[ScheduledCheck] = []
    while len(done) < limit:
        claimed = await claim_unchecked(now, platforms, period)
        if claimed is None:
            break
        channel_id, workspace_id = claimed
        access = await find(str(channel_id))
        if access is None:
            continue
        connector = get_connector(access.platform, tokens)
        try:
            answer = await ask_platform(connector, http, access.credentials)
        except ChannelCheckFailed as exc:
            log.warning("The credentials of channel %s could not be checked: %s", channel_id, exc)
            done.append(ScheduledCheck(channel_id, None, failed=str(exc)))
            continue
        await record_check(channel_id, workspace_id, answer, now)
        if answer.problem is not None:
            log.warning("Channel %s is unhealthy: %s", channel_id, answer.problem)
        done.append(ScheduledCheck(channel_id, answer.problem))
    return done

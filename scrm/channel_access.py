"""Which channel a delivery or a send is for, with its credentials revealed, cached briefly per process."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from beanie import PydanticObjectId
from bson.errors import InvalidId

from scrm.models import Channel, ChannelCredentials, ChannelStatus
from scrm.models.sealed import SecretBox

CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ChannelAccess:
    """What the ingress knows about one channel: who owns it, its platform, config, credentials and status."""

    channel_id: PydanticObjectId
    workspace_id: PydanticObjectId
    platform: str
    config: Mapping[str, object]
    credentials: Mapping[str, str]
    status: ChannelStatus = ChannelStatus.ACTIVE

    @property
    def is_disabled(self) -> bool:
        """Was the channel switched off on purpose (its deliveries refused, its stored events held)?"""
        return self.status is ChannelStatus.DISABLED


class ChannelDirectory:
    """Looks channels up by id; each answer (found or not) is reused for CACHE_SECONDS.

    Two reads per delivery would halve the ingress's throughput; a few seconds of staleness after a
    credential change is the price, and a changed secret is picked up without a restart.
    """

    def __init__(self, box: SecretBox, clock: Callable[[], float] = time.monotonic) -> None:
        self._box = box
        self._clock = clock
        self._cache: dict[str, tuple[float, ChannelAccess | None]] = {}

    async def find(self, channel_id: str) -> ChannelAccess | None:
        """The channel with this id, or None when there is none (or the id is not an id at all)."""
        now = self._clock()
        cached = self._cache.get(channel_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        access = await self._load(channel_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[channel_id] = (now + CACHE_SECONDS, access)
        return access

    async def _load(self, channel_id: str) -> ChannelAccess | None:
        try:
            oid = PydanticObjectId(channel_id)
        except (InvalidId, TypeError, ValueError):
            return None
        channel = await Channel.get(oid)
        if channel is None or channel.id is None:
            return None
        stored = await ChannelCredentials.find_one(ChannelCredentials.channel_id == channel.id)
        credentials = stored.reveal(self._box) if stored is not None else {}
        return ChannelAccess(
            channel.id, channel.workspace_id, channel.platform, dict(channel.config), credentials, channel.status
        )

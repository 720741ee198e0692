"""Channel health: a channel whose credentials stopped working is shown as unhealthy, with the reason.

Nothing is dropped while a channel is unhealthy: deliveries are still stored, outbound messages wait queued,
and everything goes on once someone re-authorises the channel (`scrm.channels`: new credentials make it active).
"""

from __future__ import annotations

from datetime import datetime

from beanie import PydanticObjectId

from scrm.models import Channel, ChannelStatus


async def mark_unhealthy(channel_id: PydanticObjectId, reason: str, now: datetime) -> None:
    """Show an active channel as needing attention, with the platform's reason."""
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel_id, "status": ChannelStatus.ACTIVE.value},
        {"$set": {"status": ChannelStatus.UNHEALTHY.value, "status_reason": reason, "status_changed_at": now}},
    )

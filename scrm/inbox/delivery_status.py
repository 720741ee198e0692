"""Delivery reports on messages we sent (sent → delivered → read, or failed), applied without going backwards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateMany, UpdateOne

from scrm.connectors.items import DeliveryState, InboundStatus
from scrm.events import Where
from scrm.models import Conversation, Direction, Message

RANK = {DeliveryState.SENT.value: 1, DeliveryState.DELIVERED.value: 2, DeliveryState.READ.value: 3}
"""Reports can arrive out of order: a message already read is not set back to delivered."""


async def apply_delivery_reports(reports: Sequence[tuple[InboundStatus, Where]]) -> None:
    """Set the delivery status of the outbound messages each report names (by id, or up to a watermark).

    A watermark ("everything up to this time was read") concerns only the reader's conversation.
    """
    threads = await _conversations([(r.conversation_id, w) for r, w in reports if not r.message_id and r.watermark])
    updates: list[UpdateOne | UpdateMany] = []
    for report, where in reports:
        target: dict[str, Any] = {"platform": where.platform, "channel_id": where.channel_id}
        if report.message_id:
            updates.append(UpdateOne({**target, "external_id": report.message_id}, _advance(report)))
        elif report.watermark is not None and (where.channel_id, report.conversation_id) in threads:
            conversation = threads[(where.channel_id, report.conversation_id)]
            watermark = {**target, "conversation_id": conversation, "direction": Direction.OUTBOUND.value,
                         "sent_at": {"$lte": report.watermark}}  # fmt: skip
            updates.append(UpdateMany(watermark, _advance(report)))
    if updates:
        await Message.get_pymongo_collection().bulk_write(updates, ordered=False)


async def _conversations(wanted: list[tuple[str, Where]]) -> dict[tuple[Any, str], Any]:
    if not wanted:
        return {}
    query = {"$or": [{"channel_id": where.channel_id, "external_id": thread} for thread, where in wanted]}
    rows = Conversation.get_pymongo_collection().find(query, {"channel_id": 1, "external_id": 1})
    return {(row["channel_id"], row["external_id"]): row["_id"] async for row in rows}


def _advance(report: InboundStatus) -> list[dict[str, Any]]:
    state = report.kind
    if state == DeliveryState.FAILED.value:
        failure = f"{report.error_code}: {report.error}".strip(": ") or "failed"
        return [{"$set": {"delivery_status": state, "delivery_error": failure}}]
    current = {
        "$switch": {
            "branches": [{"case": {"$eq": ["$delivery_status", name]}, "then": rank} for name, rank in RANK.items()],
            "default": 0,
        }
    }
    keep = {"$or": [{"$eq": ["$delivery_status", DeliveryState.FAILED.value]}, {"$gte": [current, RANK[state]]}]}
    return [{"$set": {"delivery_status": {"$cond": [keep, "$delivery_status", state]}}}]

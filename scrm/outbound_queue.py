"""The outbound queue: delivery rounds claim due rows with a lease, and record each outcome in group commits.

A claim is one `update_many` over candidate ids that are still claimable, tagged with the round's lease
owner (as `raw_events` does), so two workers never hold the same row. Holding a row is not yet sending it:
`SendingMarks` flips a row to `sending` only while the round still owns it, right before the platform
call, so a row is sent by at most one round even when a slow round's claim lease ran out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from scrm.group_commit import GroupCommit
from scrm.inserts import DUPLICATE_KEY
from scrm.models import Conversation, Direction, Message, OutboundMessage, OutboundStatus
from scrm.search_terms import search_terms

CLAIM_LEASE = timedelta(minutes=2)
"""How long a round holds rows it has not started sending (the wait on the channel's token bucket)."""
SENDING_LEASE = timedelta(minutes=10)
"""How long a `sending` row is left alone: longer than any platform call may last (see delivery.SEND_TIMEOUT)."""
UNKNOWN_OUTCOME = "unknown outcome after a crash; check the conversation"
PREVIEW_LENGTH = 140

QUEUED, SENDING = OutboundStatus.QUEUED.value, OutboundStatus.SENDING.value
Outcome = tuple[UpdateOne, dict[str, Any] | None, UpdateOne | None]
"""A row's update, with the outbound Message to insert and the conversation update when it was sent."""


def claimable(now: datetime, paused_channels: Sequence[PydanticObjectId]) -> dict[str, Any]:
    """Due queued rows nobody holds, and `sending` rows whose round died (their lease ran out)."""
    due = {
        "status": QUEUED,
        "not_before": {"$lte": now},
        "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
    }
    interrupted = {"status": SENDING, "lease_until": {"$lte": now}}
    query: dict[str, Any] = {"$or": [due, interrupted]}
    if paused_channels:
        query["channel_id"] = {"$nin": list(paused_channels)}
    return query


async def claim(
    now: datetime, limit: int, owner: str, paused_channels: Sequence[PydanticObjectId] = ()
) -> list[OutboundMessage]:
    """Claim up to `limit` rows, the longest due first, for the round `owner`, until `now + CLAIM_LEASE`."""
    collection = OutboundMessage.get_pymongo_collection()
    query = claimable(now, paused_channels)
    ids = [row["_id"] async for row in collection.find(query, {"_id": 1}).sort("not_before", 1).limit(limit)]
    if not ids:
        return []
    # A `sending` row keeps its status: the round settles it (`settle_interrupted`), never re-sends it.
    await collection.update_many(
        {"_id": {"$in": ids}, **query}, {"$set": {"lease_owner": owner, "lease_until": now + CLAIM_LEASE}}
    )
    rows = collection.find({"_id": {"$in": ids}, "lease_owner": owner}).sort("not_before", 1)
    return [OutboundMessage.model_validate(row) async for row in rows]


class SendingMarks:
    """Marks rows `sending` right before their platform calls, in group commits, and only while their round
    still holds them.

    This write is what makes a crash visible: a row found `sending` after SENDING_LEASE was being sent when its
    worker died, and may or may not have reached the platform.
    """

    def __init__(self) -> None:
        self._group: GroupCommit[tuple[OutboundMessage, UpdateOne], set[Any]] = GroupCommit(_mark_sending)

    async def mark(self, row: OutboundMessage, conversation_id: PydanticObjectId | None, now: datetime) -> bool:
        """Mark `row` sending; False when its round no longer holds it (another round took it over)."""
        changes: dict[str, Any] = {"status": SENDING, "sending_at": now, "lease_until": now + SENDING_LEASE}
        if conversation_id is not None:
            changes["conversation_id"] = conversation_id
        held = {"_id": row.id, "lease_owner": row.lease_owner, "status": QUEUED}
        marked = await self._group.add((row, UpdateOne(held, {"$set": changes, "$inc": {"attempts": 1}})))
        return row.id in marked


async def _mark_sending(batch: list[tuple[OutboundMessage, UpdateOne]]) -> set[Any]:
    """Write a batch of marks; return the ids it marked."""
    collection = OutboundMessage.get_pymongo_collection()
    result = await collection.bulk_write([update for _, update in batch], ordered=False)
    ids = [row.id for row, _ in batch]
    if result.modified_count == len(batch):
        return set(ids)
    # Some rows were taken over: those still held by their own round are the ones this write marked.
    owners = list({row.lease_owner for row, _ in batch})
    held = collection.find({"_id": {"$in": ids}, "status": SENDING, "lease_owner": {"$in": owners}}, {"_id": 1})
    return {raw["_id"] async for raw in held}


def sent(row: OutboundMessage, external_id: str | None, at: datetime) -> UpdateOne:
    """The platform accepted the message: keep its id."""
    return _finish(row, {"status": OutboundStatus.SENT.value, "external_id": external_id, "sent_at": at, "error": ""})


def failed(row: OutboundMessage, reason: str) -> UpdateOne:
    """The message will not go out; `reason` says why, for people."""
    return _finish(row, {"status": OutboundStatus.FAILED.value, "error": reason[:2000]})


def cancelled(row: OutboundMessage, reason: str) -> UpdateOne:
    """The message must not go out (blocked contact, consent withdrawn, frequency cap)."""
    return _finish(row, {"status": OutboundStatus.CANCELLED.value, "error": reason[:2000]})


def rescheduled(row: OutboundMessage, at: datetime, reason: str) -> UpdateOne:
    """Try again at `at` (quiet hours, a rate limit, a passing failure)."""
    return _finish(row, {"status": QUEUED, "not_before": at, "error": reason[:2000]})


def released(row: OutboundMessage, *, attempted: bool) -> UpdateOne:
    """Give the row back unchanged (its channel needs attention); an attempt that could not count is undone."""
    return _finish(row, {"status": QUEUED}, {"attempts": -1} if attempted else None)


def delivered(
    row: OutboundMessage,
    platform: str,
    conversation_id: PydanticObjectId | None,
    text: str,
    external_id: str | None,
    at: datetime,
) -> Outcome:
    """The platform accepted the message: the row's update, the outbound Message and its conversation's update.

    Without a conversation (a push to someone who never wrote) there is nothing to show it in: the row alone.
    """
    if conversation_id is None:
        return sent(row, external_id, at), None, None
    message: dict[str, Any] = {
        "_id": ObjectId(),
        "workspace_id": row.workspace_id,
        "created_at": at,
        "channel_id": row.channel_id,
        "conversation_id": conversation_id,
        "contact_id": row.contact_id,
        "platform": platform,
        "external_id": external_id,
        "direction": Direction.OUTBOUND.value,
        "text": text,
        "search_terms": search_terms(text),
        "attachments": [],
        "sent_at": at,
        "delivery_status": OutboundStatus.SENT.value,
        "outbound_id": row.id,
        "handled_at": at,  # nothing for the pipeline to do with our own message
    }
    newer = {"$gte": [at, {"$ifNull": ["$last_message_at", at]}]}
    latest = {  # our message becomes the preview unless something newer is already there
        "last_message_at": {"$max": ["$last_message_at", at]},
        "last_message_preview": {"$cond": [newer, text[:PREVIEW_LENGTH], "$last_message_preview"]},
    }
    return sent(row, external_id, at), message, UpdateOne({"_id": conversation_id}, [{"$set": latest}])


def _finish(row: OutboundMessage, changes: dict[str, Any], inc: dict[str, int] | None = None) -> UpdateOne:
    update: dict[str, Any] = {"$set": {**changes, "lease_owner": None, "lease_until": None}}
    if inc:
        update["$inc"] = inc
    return UpdateOne({"_id": row.id, "lease_owner": row.lease_owner}, update)


class Ledger:
    """Writes outcomes in group commits: whatever finished while the previous write was in flight.

    A sent message is written as its outbound `Message` first and its row second: a row left `sending` whose
    Message exists was sent, so the crash window is the time from the platform's answer to the next commit
    (one or two round trips to MongoDB), not the length of the round.
    """

    def __init__(self) -> None:
        self._group: GroupCommit[Outcome, None] = GroupCommit(_write_outcomes)

    async def write(
        self, row: UpdateOne, message: dict[str, Any] | None = None, touch: UpdateOne | None = None
    ) -> None:
        """Record one outcome and return once it is durable."""
        await self._group.add((row, message, touch))

    async def write_all(self, rows: Iterable[UpdateOne]) -> None:
        """Record outcomes that have no message (refusals, reschedules) together."""
        await self._group.add_all((row, None, None) for row in rows)


async def _write_outcomes(batch: list[Outcome]) -> None:
    messages = [message for _, message, _ in batch if message is not None]
    if messages:
        await _insert_new(messages)
    rows = OutboundMessage.get_pymongo_collection().bulk_write([row for row, _, _ in batch], ordered=False)
    touches = [touch for _, _, touch in batch if touch is not None]
    if touches:  # the conversation's preview is not part of the crash rule: written alongside the rows
        await asyncio.gather(rows, Conversation.get_pymongo_collection().bulk_write(touches, ordered=False))
    else:
        await rows


async def _insert_new(messages: list[dict[str, Any]]) -> None:
    """Insert outbound messages; one already stored (the platform echoed it first) is left as it is."""
    try:
        await Message.get_pymongo_collection().insert_many(messages, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise


async def settle_interrupted(rows: Sequence[OutboundMessage], now: datetime) -> list[UpdateOne]:
    """Decide what rows left `sending` by a dead round become; none of them is sent again blindly.

    - its outbound `Message` was stored: the platform accepted it and only the row's update was lost: `sent`;
    - the source accepts a duplicate rather than a loss (`resend_after_crash`): queued again;
    - otherwise: `failed` with UNKNOWN_OUTCOME, for a person to check the conversation. No connector can make
      a resend safe today: Telegram, WeChat, WeCom, Meta and X take no idempotency key, and LINE's
      `X-Line-Retry-Key` is drawn afresh by the connector for each call, so it cannot match the lost one.
    """
    threads = [row.conversation_id for row in rows if row.conversation_id is not None]
    stored: dict[Any, str | None] = {}
    if threads:
        query = {"conversation_id": {"$in": threads}, "outbound_id": {"$in": [row.id for row in rows]}}
        found = Message.get_pymongo_collection().find(query, {"outbound_id": 1, "external_id": 1})
        stored = {raw["outbound_id"]: raw.get("external_id") async for raw in found}
    updates = []
    for row in rows:
        if row.id in stored:
            updates.append(sent(row, stored[row.id], row.sending_at or now))
        elif row.resend_after_crash:
            updates.append(_finish(row, {"status": QUEUED, "error": "sent again after a crash mid-send"}))
        else:
            updates.append(failed(row, UNKNOWN_OUTCOME))
    return updates

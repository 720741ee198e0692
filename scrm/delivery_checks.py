"""The checks before a send: who the recipient is, and whether the message may go out now, for a whole batch.

Everything a batch needs is read in a few queries (its contacts, their conversations on the channel, their
recent marketing sends); then each row gets a verdict: send it (with the `Reply` to send), or a row update
that cancels, fails or reschedules it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import UpdateOne

from scrm import messaging_windows, outbound_queue, send_policy
from scrm.channel_access import ChannelAccess
from scrm.connectors.base import Connector, Reply, ReplyKind, Template
from scrm.models import Contact, Conversation, OutboundMessage, OutboundStatus
from scrm.outbox import MARKETING_SOURCES
from scrm.send_policy import Recipient


@dataclass(frozen=True, slots=True)
class Thread:
    """The conversation a message goes into: its id, the platform's thread id and the last inbound time."""

    id: PydanticObjectId
    external_id: str
    last_inbound_at: datetime | None


@dataclass(frozen=True, slots=True)
class Job:
    """A row cleared to go out: where, to whom and what."""

    row: OutboundMessage
    channel: ChannelAccess
    connector: Connector
    thread: Thread | None
    reply: Reply


@dataclass
class BatchFacts:
    """What a batch's checks read from the database, keyed by contact."""

    recipients: dict[PydanticObjectId, Recipient]
    threads: dict[tuple[PydanticObjectId, PydanticObjectId], Thread]
    """(channel id, contact id) -> the contact's conversation on that channel (the most recent inbound)."""
    by_id: dict[PydanticObjectId, Thread]
    marketing_sent: dict[PydanticObjectId, int]
    window_sent: dict[tuple[PydanticObjectId, PydanticObjectId], int] = field(default_factory=dict)
    """(channel id, contact id) -> messages sent or being sent since the contact last wrote (WeChat, WeCom: 5)."""


async def read_facts(rows: Iterable[OutboundMessage], now: datetime) -> BatchFacts:
    """Read the batch's contacts, conversations, recent marketing sends and sends in each messaging window (five
    queries at most)."""
    rows = list(rows)
    contact_ids = list({row.contact_id for row in rows})
    contacts = Contact.get_pymongo_collection().find(
        {"_id": {"$in": contact_ids}}, {"blocked": 1, "consent": 1, "timezone": 1, "identities": 1}
    )
    recipients = {PydanticObjectId(raw["_id"]): Recipient.from_document(raw) async for raw in contacts}
    threads, by_id = await _read_threads(rows, contact_ids)
    marketing = [row.contact_id for row in rows if row.source in MARKETING_SOURCES]
    sent = await _marketing_sent(marketing, now) if marketing else {}
    facts = BatchFacts(recipients, threads, by_id, sent)
    facts.window_sent = await _window_sent(rows, facts)
    return facts


async def _read_threads(
    rows: list[OutboundMessage], contact_ids: list[PydanticObjectId]
) -> tuple[dict[tuple[PydanticObjectId, PydanticObjectId], Thread], dict[PydanticObjectId, Thread]]:
    workspaces = list({row.workspace_id for row in rows})
    named = list({row.conversation_id for row in rows if row.conversation_id is not None})
    found = Conversation.get_pymongo_collection().find(
        {"$or": [{"workspace_id": {"$in": workspaces}, "contact_id": {"$in": contact_ids}}, {"_id": {"$in": named}}]},
        {"channel_id": 1, "contact_id": 1, "external_id": 1, "last_inbound_at": 1},
    )
    threads: dict[tuple[PydanticObjectId, PydanticObjectId], Thread] = {}
    by_id: dict[PydanticObjectId, Thread] = {}
    async for raw in found:
        thread = Thread(PydanticObjectId(raw["_id"]), str(raw["external_id"]), raw.get("last_inbound_at"))
        by_id[thread.id] = thread
        key = (PydanticObjectId(raw["channel_id"]), PydanticObjectId(raw["contact_id"]))
        known = threads.get(key)
        if known is None or _later(thread.last_inbound_at, known.last_inbound_at):
            threads[key] = thread
    return threads, by_id


async def _marketing_sent(contact_ids: list[PydanticObjectId], now: datetime) -> dict[PydanticObjectId, int]:
    """How many marketing messages each contact got within the cap's period."""
    since = now - send_policy.MARKETING_CAP_PERIOD
    match = {
        "contact_id": {"$in": list(set(contact_ids))},
        "sent_at": {"$gt": since},
        "status": OutboundStatus.SENT.value,
        "source": {"$in": sorted(MARKETING_SOURCES)},
    }
    pipeline: list[dict[str, Any]] = [{"$match": match}, {"$group": {"_id": "$contact_id", "sent": {"$sum": 1}}}]
    cursor = await OutboundMessage.get_pymongo_collection().aggregate(pipeline)
    return {PydanticObjectId(raw["_id"]): int(raw["sent"]) async for raw in cursor}


async def _window_sent(
    rows: list[OutboundMessage], facts: BatchFacts
) -> dict[tuple[PydanticObjectId, PydanticObjectId], int]:
    """How many messages went out (or are going out in another round) to each row's contact on its channel since
    the contact last wrote: one aggregate for the batch."""
    since: dict[tuple[PydanticObjectId, PydanticObjectId], datetime] = {}
    for row in rows:
        thread = _thread_of(row, facts)
        if thread is not None and thread.last_inbound_at is not None:
            since[(row.channel_id, row.contact_id)] = thread.last_inbound_at
    if not since:
        return {}
    sent, sending = OutboundStatus.SENT.value, OutboundStatus.SENDING.value
    clauses = [
        {
            "channel_id": channel_id,
            "contact_id": contact_id,
            "$or": [{"status": sent, "sent_at": {"$gt": at}}, {"status": sending, "sending_at": {"$gt": at}}],
        }
        for (channel_id, contact_id), at in since.items()
    ]
    key = {"channel": "$channel_id", "contact": "$contact_id"}
    pipeline: list[dict[str, Any]] = [{"$match": {"$or": clauses}}, {"$group": {"_id": key, "sent": {"$sum": 1}}}]
    cursor = await OutboundMessage.get_pymongo_collection().aggregate(pipeline)
    return {
        (PydanticObjectId(raw["_id"]["channel"]), PydanticObjectId(raw["_id"]["contact"])): int(raw["sent"])
        async for raw in cursor
    }


def decide(
    row: OutboundMessage, channel: ChannelAccess, connector: Connector, facts: BatchFacts, now: datetime
) -> Job | UpdateOne:
    """Clear `row` to go out now, or return the update that cancels, fails or reschedules it.

    Order: who may never get it (cancel), what cannot be sent at all (fail), then what must wait (quiet
    hours), then the frequency cap, counted for the sends this batch has cleared so far.
    """
    recipient = facts.recipients.get(row.contact_id)
    if recipient is None:
        return outbound_queue.failed(row, "the contact no longer exists")
    refused = send_policy.refusal(recipient, row.source)
    if refused is not None:
        return outbound_queue.cancelled(row, refused)
    thread = _thread_of(row, facts)
    to = str(row.payload.get("to") or "") or (thread.external_id if thread else "")
    to = to or recipient.identity_on(channel.platform, str(row.channel_id)) or ""
    if not to:
        return outbound_queue.failed(row, f"the contact has no {channel.platform} identity to send to")
    try:
        reply = build_reply(row.payload, to)
    except (KeyError, TypeError, ValueError) as exc:
        return outbound_queue.failed(row, f"the message cannot be read: {type(exc).__name__}: {exc}")
    if not connector.can_send(reply):
        return outbound_queue.failed(row, f"{channel.platform} cannot send a {reply.kind} message")
    last_inbound = thread.last_inbound_at if thread else None
    closed = messaging_windows.closed_reason(channel.platform, reply, last_inbound, now)
    if closed is not None:
        return outbound_queue.failed(row, closed)
    counted = (row.channel_id, row.contact_id)
    beyond = messaging_windows.limit_reason(channel.platform, facts.window_sent.get(counted, 0))
    if beyond is not None:
        return outbound_queue.failed(row, beyond)
    morning = send_policy.quiet_until(recipient, row.source, now)
    if morning is not None:
        return outbound_queue.rescheduled(row, morning, "held for quiet hours in the contact's timezone")
    if row.source in MARKETING_SOURCES:
        capped = send_policy.over_cap(facts.marketing_sent.get(row.contact_id, 0))
        if capped is not None:
            return outbound_queue.cancelled(row, capped)
        facts.marketing_sent[row.contact_id] = facts.marketing_sent.get(row.contact_id, 0) + 1
    if messaging_windows.message_limit(channel.platform) is not None:
        facts.window_sent[counted] = facts.window_sent.get(counted, 0) + 1  # this batch's own sends count too
    return Job(row, channel, connector, thread, reply)


def build_reply(payload: Mapping[str, Any], to: str) -> Reply:
    """The connector's `Reply` for a row's payload, addressed to `to`."""
    template = payload.get("template")
    return Reply(
        to=to,
        text=str(payload.get("text", "")),
        reply_to_id=str(payload.get("reply_to_id", "")),
        reply_token=str(payload.get("reply_token", "")),
        reply_token_expires_at=payload.get("reply_token_expires_at"),
        kind=ReplyKind(payload.get("kind", ReplyKind.MESSAGE.value)),
        tag=str(payload.get("tag", "")),
        template=Template(template["name"], template["language"], tuple(template.get("parameters", ())))
        if template
        else None,
    )


def _thread_of(row: OutboundMessage, facts: BatchFacts) -> Thread | None:
    if row.conversation_id is not None:
        return facts.by_id.get(row.conversation_id)
    return facts.threads.get((row.channel_id, row.contact_id))


def _later(first: datetime | None, second: datetime | None) -> bool:
    return first is not None and (second is None or first > second)

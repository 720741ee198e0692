"""The outbox: every message we send, from the inbox, a journey or a campaign, becomes one queued row.

A row's `dedupe_key` is unique at the database, so enqueueing the same message twice (a retried request, a
journey step run again after a crash, a campaign dispatched by two workers) stores it once: the unique index
decides, never a read before the write. `delivery.deliver_due` sends what is queued here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from scrm.inserts import DUPLICATE_KEY
from scrm.models import OutboundMessage, OutboundStatus


class Source(StrEnum):
    """Who asked for the message; journeys and campaigns are marketing, an inbox reply answers a person."""

    INBOX = "inbox"
    JOURNEY = "journey"
    CAMPAIGN = "campaign"


MARKETING_SOURCES = frozenset({Source.JOURNEY.value, Source.CAMPAIGN.value})
"""Sources that need marketing consent and respect quiet hours and frequency caps."""


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """A pre-approved platform template by name and language, with its body parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: through which channel, to whom, what, and the key that makes it once-only.

    `kind` is how it goes out (`message`, `comment`, `private_reply`, `template`); `to` names the recipient
    only when it is not the conversation or the contact (a comment id); `tag` lets a message out after the
    platform's standard window where the platform allows it (Meta `HUMAN_AGENT`).
    """

    workspace_id: PydanticObjectId
    channel_id: PydanticObjectId
    contact_id: PydanticObjectId
    source: Source
    dedupe_key: str
    text: str
    conversation_id: PydanticObjectId | None = None
    not_before: datetime | None = None
    kind: str = "message"
    to: str = ""
    reply_to_id: str = ""
    tag: str = ""
    template: TemplateRef | None = None
    reply_token: str = ""
    reply_token_expires_at: datetime | None = None
    resend_after_crash: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything the source wants to find on the row later (campaign variant, journey step)."""


def campaign_key(campaign_id: PydanticObjectId, contact_id: PydanticObjectId, variant: str = "") -> str:
    """The dedupe key of one campaign send: one message per campaign, contact and variant."""
    return f"campaign:{campaign_id}:{contact_id}:{variant}"


def journey_key(enrollment_id: PydanticObjectId, step: str) -> str:
    """The dedupe key of one journey message: one per enrollment and step."""
    return f"journey:{enrollment_id}:{step}"


def inbox_key(idempotency_key: str) -> str:
    """The dedupe key of an inbox reply: the client's idempotency key, or the reply note's id."""
    return f"inbox:{idempotency_key}"


async def enqueue(outgoing: Outgoing, now: datetime) -> OutboundMessage:
    """Queue one message and return its row; with a key already queued, return that row and change nothing."""
    document = _document(outgoing, now)
    collection = OutboundMessage.get_pymongo_collection()
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        found = await collection.find_one({"dedupe_key": outgoing.dedupe_key})
        if found is None:  # the unique index refused it, so the row exists unless it was deleted since
            raise
        document = found
    row: OutboundMessage = OutboundMessage.model_validate(document)
    return row


async def enqueue_many(outgoings: Sequence[Outgoing], now: datetime) -> int:
    """Queue many messages in one round trip (campaign fan-out); returns how many were new.

    Keys already queued are skipped by the unique index, so a dispatch run again after a crash queues only
    what the first run did not.
    """
    if not outgoings:
        return 0
    documents = [_document(outgoing, now) for outgoing in outgoings]
    try:
        result = await OutboundMessage.get_pymongo_collection().insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return int(exc.details.get("nInserted", 0))
    return len(result.inserted_ids)


def _document(outgoing: Outgoing, now: datetime) -> dict[str, Any]:
    """The row as stored; `not_before` is always set, so the queue index serves both the filter and the order."""
    payload: dict[str, Any] = {**outgoing.extra, "text": outgoing.text, "kind": outgoing.kind}
    for name in ("to", "reply_to_id", "tag", "reply_token", "reply_token_expires_at"):
        value = getattr(outgoing, name)
        if value:
            payload[name] = value
    if outgoing.template is not None:
        template = outgoing.template
        payload["template"] = {
            "name": template.name,
            "language": template.language,
            "parameters": list(template.parameters),
        }
    return {
        "_id": ObjectId(),
        "workspace_id": outgoing.workspace_id,
        "created_at": now,
        "dedupe_key": outgoing.dedupe_key,
        "channel_id": outgoing.channel_id,
        "contact_id": outgoing.contact_id,
        "conversation_id": outgoing.conversation_id,
        "source": outgoing.source.value,
        "payload": payload,
        "status": OutboundStatus.QUEUED.value,
        "attempts": 0,
        "not_before": outgoing.not_before or now,
        "lease_until": None,
        "lease_owner": None,
        "resend_after_crash": outgoing.resend_after_crash,
        "error": "",
    }

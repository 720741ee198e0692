"""The outbox: one row per dedupe key, however often and however concurrently a message is queued."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from beanie import PydanticObjectId

from scrm.db import Database
from scrm.models import OutboundMessage, OutboundStatus
from scrm.outbox import Outgoing, Source, TemplateRef, campaign_key, enqueue, enqueue_many, inbox_key

WORKSPACE, CHANNEL = PydanticObjectId(), PydanticObjectId()


def outgoing(key: str, text: str = "Hello", contact: PydanticObjectId | None = None, **extra: object) -> Outgoing:
    """A message for the test channel with the given dedupe key."""
    return Outgoing(
        workspace_id=WORKSPACE,
        channel_id=CHANNEL,
        contact_id=contact or PydanticObjectId(),
        source=Source.CAMPAIGN,
        dedupe_key=key,
        text=text,
        **extra,  # type: ignore[arg-type]
    )


async def test_enqueueing_the_same_key_twice_stores_one_row_and_returns_the_first(
    database: Database, now: datetime
) -> None:
    first = await enqueue(outgoing(inbox_key("note-1"), "first"), now)
    second = await enqueue(outgoing(inbox_key("note-1"), "second"), now + timedelta(minutes=1))
    assert await OutboundMessage.count() == 1
    assert second.id == first.id
    assert second.payload["text"] == "first"
    assert second.status is OutboundStatus.QUEUED and second.not_before == now


async def test_concurrent_enqueues_of_one_key_store_one_row(database: Database, now: datetime) -> None:
    rows = await asyncio.gather(*(enqueue(outgoing("inbox:race", f"try {n}"), now) for n in range(20)))
    assert await OutboundMessage.count() == 1
    assert len({row.id for row in rows}) == 1


async def test_bulk_enqueue_skips_keys_already_queued_and_duplicates_in_the_batch(
    database: Database, now: datetime
) -> None:
    campaign = PydanticObjectId()
    contacts = [PydanticObjectId() for _ in range(5)]
    await enqueue(outgoing(campaign_key(campaign, contacts[0], "A"), contact=contacts[0]), now)
    batch = [outgoing(campaign_key(campaign, contact, "A"), contact=contact) for contact in contacts]
    batch.append(outgoing(campaign_key(campaign, contacts[1], "A"), contact=contacts[1]))
    assert await enqueue_many(batch, now) == 4
    assert await enqueue_many(batch, now) == 0
    assert await OutboundMessage.count() == 5
    assert await enqueue_many([], now) == 0


async def test_a_queued_row_keeps_what_the_connector_needs(database: Database, now: datetime) -> None:
    later = now + timedelta(hours=2)
    row = await enqueue(
        outgoing(
            "journey:e1:welcome",
            "Hi",
            kind="template",
            tag="HUMAN_AGENT",
            template=TemplateRef("welcome", "en_US", ("Mia",)),
            not_before=later,
            extra={"variant": "B"},
        ),
        now,
    )
    stored = await OutboundMessage.get(row.id)
    assert stored is not None and stored.not_before == later and stored.source == "campaign"
    assert stored.payload == {
        "variant": "B",
        "text": "Hi",
        "kind": "template",
        "tag": "HUMAN_AGENT",
        "template": {"name": "welcome", "language": "en_US", "parameters": ["Mia"]},
    }

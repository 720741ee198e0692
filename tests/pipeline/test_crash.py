"""A worker killed with SIGKILL in the middle of a batch loses nothing and duplicates nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId

from scrm.db import Database
from scrm.models import Contact, Conversation, Message, RawEvent, RawEventStatus
from scrm.raw_events import LEASE
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context
from tests.conftest import TEST_SECRET_KEY
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel, telegram_update
from tests.processes import start_scrm

DELIVERIES = 5000
PEOPLE = 250


async def test_kill_9_mid_batch_then_restart_records_every_item_once(
    database: Database, settings: Settings, mongo_uri: str, database_name: str, tmp_path: Path
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    now = datetime.now(UTC)
    await RawEvent.get_pymongo_collection().insert_many(
        [_stored_delivery(channel.id, channel.workspace_id, n, now) for n in range(DELIVERIES)]
    )
    env = {"SCRM_MONGODB_URI": mongo_uri, "SCRM_DATABASE": database_name, "SCRM_SECRET_KEY": TEST_SECRET_KEY,
           "SCRM_HOME": str(tmp_path)}  # fmt: skip
    worker = start_scrm(["worker"], env, tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 120
        while await Message.count() < DELIVERIES // 10:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker recorded nothing"
            await asyncio.sleep(0.02)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    unfinished = await RawEvent.find({"status": {"$ne": RawEventStatus.PROCESSED.value}}).count()
    assert unfinished > 0, "the worker was killed after it had finished: the test proved nothing"

    after_the_lease = pipeline_context(settings, lambda: datetime.now(UTC) + LEASE + timedelta(seconds=1))
    while await drain_raw_events(after_the_lease):
        pass

    assert await RawEvent.find(RawEvent.status == RawEventStatus.PROCESSED).count() == DELIVERIES
    assert await Message.count() == DELIVERIES
    assert len(await Message.get_pymongo_collection().distinct("external_id")) == DELIVERIES
    assert await Contact.count() == PEOPLE
    assert await Conversation.count() == PEOPLE
    async for conversation in Conversation.get_pymongo_collection().find({}):
        newest = await Message.find(Message.conversation_id == conversation["_id"]).sort("-sent_at").first_or_none()
        assert newest is not None and conversation["last_message_preview"] == newest.text


def _stored_delivery(channel_id: ObjectId, workspace_id: ObjectId, number: int, now: datetime) -> dict[str, object]:
    """A delivery as the ingress stores it: verified, raw, pending."""
    body = telegram_update(100_000 + number, f"message {number}", user_id=1_000 + number % PEOPLE)
    body = body.replace(b'"date": 1779270000', f'"date": {1779270000 + number}'.encode())
    return {
        "_id": ObjectId(), "workspace_id": workspace_id, "created_at": now, "channel_id": channel_id,
        "platform": "telegram", "event_id": str(100_000 + number), "body": body, "headers": {},
        "status": RawEventStatus.PENDING.value, "error": "", "attempts": 0, "received_at": now,
        "lease_until": None, "processed_at": None, "expire_at": None,
    }  # fmt: skip

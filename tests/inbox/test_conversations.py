"""The list service: ordering and cursors, including conversations that have no activity yet."""

from __future__ import annotations

from datetime import datetime, timedelta

from scrm.auth.roles import Principal
from scrm.inbox.actions import set_status, wake_snoozed
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.models import Conversation, ConversationStatus, Role
from tests.inbox.conftest import Inbox


async def test_quiet_conversations_come_last_and_every_page_follows_exactly(inbox: Inbox, now: datetime) -> None:
    assert inbox.telegram.id is not None
    mia = inbox.conversations["Mia"]
    for n in range(3):
        quiet = Conversation(
            workspace_id=inbox.scope.workspace_id,
            channel_id=inbox.telegram.id,
            contact_id=mia.contact_id,
            platform="telegram",
            external_id=f"quiet-{n}",
        )
        await inbox.scope.insert(quiet)
    tie = Conversation(
        workspace_id=inbox.scope.workspace_id,
        channel_id=inbox.telegram.id,
        contact_id=mia.contact_id,
        platform="telegram",
        external_id="same-time-as-mia",
        last_message_at=mia.last_message_at,
    )
    await inbox.scope.insert(tie)
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, "test")
    everything = await list_conversations(owner, InboxFilter(), limit=100)
    seen, cursor = [], None
    for _ in range(20):
        page = await list_conversations(owner, InboxFilter(), cursor, limit=1)
        seen += [row.conversation.id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [row.conversation.id for row in everything.rows] and len(seen) == 7
    ordered = [row.conversation.last_message_at for row in everything.rows]
    assert ordered[-3:] == [None, None, None] and ordered[0] == ordered[1] == mia.last_message_at
    assert everything.counts["open"] == 6


async def test_snoozed_conversations_wake_when_their_time_comes(inbox: Inbox, now: datetime) -> None:
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, "test")
    await set_status(owner, inbox.oid("Mia"), ConversationStatus.SNOOZED, now, now + timedelta(hours=1))
    await set_status(owner, inbox.oid("Li"), ConversationStatus.SNOOZED, now, now + timedelta(days=1))
    assert await wake_snoozed(now + timedelta(minutes=59)) == 0
    assert await wake_snoozed(now + timedelta(hours=2)) == 1
    assert await wake_snoozed(now + timedelta(hours=2)) == 0
    mia, li = (
        await inbox.scope.get(Conversation, inbox.oid("Mia")),
        await inbox.scope.get(Conversation, inbox.oid("Li")),
    )
    assert (mia.status, mia.snoozed_until) == (ConversationStatus.OPEN, None)
    assert li.status is ConversationStatus.SNOOZED

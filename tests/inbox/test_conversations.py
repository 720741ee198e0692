"""The list service: ordering and cursors, including conversations that have no activity yet."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.actions import set_status, wake_snoozed
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.models import Channel, Conversation, ConversationStatus, Role
from scrm.models.conversation import LatestTags
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


def _expected(conversations: list[Conversation], status: ConversationStatus | None) -> list[PydanticObjectId]:
    """The ids a list must show, worked out without MongoDB: newest activity first, `_id` breaking ties."""
    kept = [c for c in conversations if status is None or c.status is status]
    kept.sort(key=lambda c: (c.last_message_at.timestamp() if c.last_message_at else float("-inf"), c.id), reverse=True)
    return [c.id for c in kept if c.id is not None]


async def _every_page(
    principal: Principal, wanted: InboxFilter
) -> tuple[list[PydanticObjectId | None], dict[str, int]]:
    """Every row of the list, read three at a time through the cursors, and the first page's counts."""
    seen: list[PydanticObjectId | None] = []
    cursor, counts = None, None
    for _ in range(100):
        page = await list_conversations(principal, wanted, cursor, limit=3)
        seen += [row.conversation.id for row in page.rows]
        counts = counts if counts is not None else page.counts
        cursor = page.next_cursor
        if cursor is None:
            break
    assert counts is not None
    return seen, counts


async def test_lists_naming_their_channels_show_exactly_the_rows_and_counts_of_the_filter(
    inbox: Inbox, now: datetime
) -> None:
    """Owners' and agents' lists (which name their channels for the indexes) against the filter worked out by hand.

    Four channels, one of them deleted (its conversations stay and an owner still sees them), ties in activity
    time, conversations without activity, every status, assignees, labels, unread counts and tags.
    """
    assert inbox.telegram.id is not None and inbox.wechat.id is not None
    gone = PydanticObjectId()  # a channel deleted after its conversations were recorded
    extra = await inbox.scope.insert(Channel(workspace_id=inbox.scope.workspace_id, platform="meta", name="Page"))
    assert extra.id is not None
    channels = [inbox.telegram.id, inbox.wechat.id, extra.id, gone]
    me, other = PydanticObjectId(), PydanticObjectId()
    shuffle = random.Random(11)  # noqa: S311 - a seeded spread of test data
    for n in range(60):
        at = None if n % 13 == 0 else now - timedelta(minutes=n // 3)  # three conversations share each minute
        status = ConversationStatus(shuffle.choice(["open", "open", "pending", "snoozed", "resolved"]))
        latest = LatestTags(
            sentiment=shuffle.choice(["negative", "neutral", "positive"]),
            intent=shuffle.choice(["complaint", "spam", "praise"]),
            at=now,
        )
        conversation = Conversation(
            workspace_id=inbox.scope.workspace_id,
            channel_id=channels[n % 4],
            contact_id=inbox.conversations["Mia"].contact_id,
            platform="telegram",
            external_id=f"spread-{n}",
            status=status,
            assignee_id=shuffle.choice([me, other, None]),
            labels=shuffle.sample(["vip", "refund", "late"], shuffle.choice([0, 1, 2])),
            last_message_at=at,
            unread_count=shuffle.choice([0, 0, 1, 3]),
            latest_tags=latest if n % 5 else None,
        )
        await inbox.scope.insert(conversation)
    everything = await inbox.scope.find(Conversation, {}).to_list()
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, f"user:{me}")
    agent = Principal(inbox.scope.workspace_id, Role.AGENT, f"user:{me}", channel_ids=frozenset(channels[1:3]))
    open_ = ConversationStatus.OPEN

    def tags_of(c: Conversation) -> tuple[str | None, str | None]:
        return (c.latest_tags.sentiment, c.latest_tags.intent) if c.latest_tags else (None, None)

    cases: list[tuple[InboxFilter, Callable[[Conversation], bool]]] = [  # the filter, and what it keeps but status
        (InboxFilter(), lambda c: True),
        (InboxFilter(status=open_), lambda c: True),
        (
            InboxFilter(channel_id=channels[1], status=open_),
            lambda c: c.channel_id == channels[1],
        ),
        (InboxFilter(channel_id=gone), lambda c: c.channel_id == gone),
        (InboxFilter(status=open_, assignee="me"), lambda c: c.assignee_id == me),
        (InboxFilter(assignee="unassigned"), lambda c: c.assignee_id is None),
        (InboxFilter(status=open_, label="refund"), lambda c: "refund" in c.labels),
        (InboxFilter(unread=True), lambda c: c.unread_count > 0),
        (InboxFilter(status=open_, sentiment="negative"), lambda c: tags_of(c)[0] == "negative"),
        (InboxFilter(intent="spam", sentiment="negative"), lambda c: tags_of(c) == ("negative", "spam")),
    ]
    checked = 0
    for principal in (owner, agent):
        for wanted, keep in cases:
            reached = [c for c in everything if c.channel_id in principal.channel_ids or not principal.is_limited]
            shown = [c for c in reached if keep(c)]
            seen, counts = await _every_page(principal, wanted)
            assert seen == _expected(shown, wanted.status), wanted
            assert counts == {s.value: sum(c.status is s for c in shown) for s in ConversationStatus}
            checked += len(seen)
    assert checked > 100  # the cases are not all empty
    gone_for_agent, _ = await _every_page(agent, InboxFilter(channel_id=gone))
    assert gone_for_agent == []  # a channel outside an agent's reach shows nothing, not the whole channel
    gone_for_owner, _ = await _every_page(owner, InboxFilter(channel_id=gone))
    assert len(gone_for_owner) == 15

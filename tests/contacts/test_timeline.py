"""A contact's lifetime timeline: every source, newest first, paged by cursor without overlap or gap, within reach."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.contacts.merge import merge_contacts
from scrm.contacts.timeline import TimelineInputError, TimelineItem, contact_timeline
from scrm.models import (
    Channel,
    Comment,
    Conversation,
    Direction,
    Follow,
    FollowKind,
    Message,
    Role,
)
from tests.api.world import Side, World, add_contact

_serial = count(1)


async def conversation_of(side: Side, contact: PydanticObjectId, opened: datetime) -> Conversation:
    """The contact's conversation, opened at `opened`."""
    found = await side.scope.find_one(Conversation, {"contact_id": contact})
    assert found is not None
    found.created_at = opened
    return await side.scope.replace(found)


async def message(side: Side, conversation: Conversation, inbound: bool, at: datetime, text: str) -> None:
    """A message of the conversation."""
    await side.scope.insert(
        Message(
            workspace_id=side.scope.workspace_id,
            channel_id=conversation.channel_id,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            platform=conversation.platform,
            external_id=f"m{next(_serial)}",
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            text=text,
            sent_at=at,
        )
    )


async def comment(side: Side, channel: Channel, contact: PydanticObjectId, at: datetime, ours: bool = False) -> None:
    """A comment by the contact (or our reply naming them) on `channel`."""
    assert channel.id is not None
    await side.scope.insert(
        Comment(
            workspace_id=side.scope.workspace_id,
            channel_id=channel.id,
            platform=channel.platform,
            external_id=f"c{next(_serial)}",
            post_external_id="p1",
            contact_id=contact,
            from_us=ours,
            text="ours" if ours else "Love the new roast",
            created_time=at,
        )
    )


async def follow(side: Side, channel: Channel, contact: PydanticObjectId, kind: FollowKind, at: datetime) -> None:
    """A follow or unfollow of `channel` by the contact."""
    assert channel.id is not None
    await side.scope.insert(
        Follow(
            workspace_id=side.scope.workspace_id,
            channel_id=channel.id,
            contact_id=contact,
            platform=channel.platform,
            external_id=f"f{next(_serial)}",
            kind=kind,
            at=at,
        )
    )


def kinds(items: list[TimelineItem]) -> list[str]:
    """The kinds of the items, in order."""
    return [item.kind for item in items]


@pytest.fixture
async def mei(world: World) -> PydanticObjectId:
    """Mei: years of activity on the agent's channel and some on another, and a duplicate merged into her."""
    side, now = world.a, world.now
    assert side.agent_channel is not None and side.other_channel is not None
    mei = await add_contact(side, "Mei", side.agent_channel)
    chat = await conversation_of(side, mei, now - timedelta(days=10))
    await message(side, chat, True, now - timedelta(days=9), "Hi, do you ship to Hangzhou?")
    await message(side, chat, False, now - timedelta(days=8), "Yes, in two days.")
    await follow(side, side.agent_channel, mei, FollowKind.FOLLOW, now - timedelta(days=7))
    await follow(side, side.agent_channel, mei, FollowKind.UNFOLLOW, now - timedelta(days=5))
    await comment(side, side.agent_channel, mei, now - timedelta(days=3))
    await comment(side, side.agent_channel, mei, now - timedelta(days=3), ours=True)  # the same instant
    await message(side, chat, True, now - timedelta(hours=1), "Where is my parcel?")
    twin = await add_contact(side, "Mei W.", side.other_channel)
    elsewhere = await conversation_of(side, twin, now - timedelta(days=6, hours=1))
    await message(side, elsewhere, True, now - timedelta(days=6), "Hello from the other account")
    await merge_contacts(side.scope, twin, mei, {}, actor="test", now=now - timedelta(hours=4))
    return mei


async def test_the_timeline_shows_every_source_newest_first(world: World, mei: PydanticObjectId) -> None:
    owner = Principal(world.a.scope.workspace_id, Role.OWNER, "test")
    page = await contact_timeline(owner, mei, limit=50)
    assert kinds(page.items) == [
        "message_in",
        "merged",
        "comment_reply",
        "comment",
        "unfollow",
        "message_in",
        "conversation_opened",
        "follow",
        "message_out",
        "message_in",
        "conversation_opened",
    ]
    assert page.items[0].text == "Where is my parcel?" and page.next_cursor is None
    assert page.items[1].other_contact_id is not None and not page.items[1].undone
    assert [i.at for i in page.items] == sorted((i.at for i in page.items), reverse=True)


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
async def test_pages_meet_exactly_across_sources_and_ties(world: World, mei: PydanticObjectId, limit: int) -> None:
    owner = Principal(world.a.scope.workspace_id, Role.OWNER, "test")
    everything = (await contact_timeline(owner, mei, limit=50)).items
    seen: list[TimelineItem] = []
    cursor = None
    for _ in range(len(everything)):
        page = await contact_timeline(owner, mei, cursor, limit)
        assert len(page.items) <= limit
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [i.id for i in seen] == [i.id for i in everything]  # no item twice, none left out
    assert len({i.id for i in seen}) == len(everything) == 11


async def test_an_agent_sees_only_the_activity_within_reach(world: World, mei: PydanticObjectId) -> None:
    side = world.a
    assert side.agent_channel is not None and side.agent_channel.id is not None
    agent = Principal(side.scope.workspace_id, Role.AGENT, "test", channel_ids=frozenset({side.agent_channel.id}))
    items = (await contact_timeline(agent, mei, limit=50)).items
    assert "Hello from the other account" not in [i.text for i in items]
    assert all(i.channel_id in (None, side.agent_channel.id) for i in items)
    assert kinds(items).count("conversation_opened") == 1 and "follow" in kinds(items)


async def test_a_cursor_the_timeline_did_not_hand_out_is_refused(world: World, mei: PydanticObjectId) -> None:
    owner = Principal(world.a.scope.workspace_id, Role.OWNER, "test")
    with pytest.raises(TimelineInputError, match="Invalid cursor"):
        await contact_timeline(owner, mei, "last-tuesday")


@pytest.mark.parametrize("model", [Message, Comment, Follow, Conversation])
async def test_every_source_has_an_index_on_contact(world: World, model: type[Message]) -> None:
    indexes = await model.get_pymongo_collection().index_information()
    assert any([name for name, _ in spec["key"][:2]] == ["workspace_id", "contact_id"] for spec in indexes.values()), (
        indexes
    )

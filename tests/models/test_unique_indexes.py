"""Duplicates are impossible at the database: every unique key refuses a second insert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from beanie import Document, PydanticObjectId
from pymongo.errors import DuplicateKeyError

from scrm.db import Database
from scrm.models import (
    Channel,
    ChannelCredentials,
    Comment,
    Contact,
    Conversation,
    Direction,
    Follow,
    FollowKind,
    Identity,
    Message,
    OutboundMessage,
    Post,
    RawEvent,
    Workspace,
)

WS = PydanticObjectId()
CHANNEL = PydanticObjectId()
CONTACT = PydanticObjectId()
AT = datetime(2026, 5, 20, tzinfo=UTC)

FACTORIES: dict[str, Callable[[], Document]] = {
    "workspace name": lambda: Workspace(name="acme"),
    "channel name in a workspace": lambda: Channel(workspace_id=WS, platform="telegram", name="bot"),
    "credentials per channel": lambda: ChannelCredentials(workspace_id=WS, channel_id=CHANNEL, values={"k": "v"}),
    "contact identity": lambda: Contact(workspace_id=WS, identities=[Identity(platform="telegram", external_id="42")]),
    "conversation thread": lambda: Conversation(
        workspace_id=WS, channel_id=CHANNEL, contact_id=CONTACT, platform="telegram", external_id="42"
    ),
    "message external id": lambda: Message(
        workspace_id=WS,
        channel_id=CHANNEL,
        conversation_id=PydanticObjectId(),
        contact_id=CONTACT,
        platform="telegram",
        external_id="42:1001",
        direction=Direction.INBOUND,
        sent_at=AT,
    ),
    "post external id": lambda: Post(
        workspace_id=WS, channel_id=CHANNEL, platform="meta", external_id="p1", published_at=AT
    ),
    "comment external id": lambda: Comment(
        workspace_id=WS, channel_id=CHANNEL, platform="meta", external_id="c1", post_external_id="p1", created_time=AT
    ),
    "follow event": lambda: Follow(
        workspace_id=WS,
        channel_id=CHANNEL,
        contact_id=CONTACT,
        platform="wechat",
        external_id="f1",
        kind=FollowKind.FOLLOW,
        at=AT,
    ),
    "raw event per channel": lambda: RawEvent(
        workspace_id=WS, channel_id=CHANNEL, platform="telegram", event_id="9001", body=b"{}", received_at=AT
    ),
    "outbound dedupe key": lambda: OutboundMessage(
        workspace_id=WS, dedupe_key="campaign:1:contact:2", channel_id=CHANNEL, contact_id=CONTACT, source="campaign"
    ),
}


@pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys())
async def test_a_second_insert_with_the_same_key_is_refused(database: Database, make: Callable[[], Document]) -> None:
    await make().insert()
    with pytest.raises(DuplicateKeyError):
        await make().insert()
    assert await type(make()).count() == 1


async def test_the_same_external_id_on_another_channel_is_another_message(database: Database) -> None:
    first = FACTORIES["message external id"]()
    second = FACTORIES["message external id"]()
    assert isinstance(second, Message)
    second.channel_id = PydanticObjectId()
    await first.insert()
    await second.insert()
    assert await Message.count() == 2


async def test_outbound_messages_without_an_external_id_do_not_collide(database: Database) -> None:
    for _ in range(2):
        message = FACTORIES["message external id"]()
        assert isinstance(message, Message)
        message.external_id = None
        message.direction = Direction.OUTBOUND
        await message.insert()
    assert await Message.count() == 2


async def test_identities_collide_on_the_pair_not_on_its_parts(database: Database) -> None:
    await Contact(
        workspace_id=WS,
        identities=[Identity(platform="telegram", external_id="1"), Identity(platform="wechat", external_id="2")],
    ).insert()
    await Contact(workspace_id=WS, identities=[Identity(platform="telegram", external_id="2")]).insert()
    await Contact(workspace_id=WS).insert()
    await Contact(workspace_id=WS).insert()  # contacts without identities (created through the API) coexist
    await Contact(workspace_id=PydanticObjectId(), identities=[Identity(platform="telegram", external_id="1")]).insert()
    assert await Contact.count() == 5
    with pytest.raises(DuplicateKeyError):
        await Contact(workspace_id=WS, identities=[Identity(platform="wechat", external_id="2")]).insert()

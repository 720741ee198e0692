"""Conversations and notes made straight in MongoDB, for the API's isolation suite and the inbox tests."""

from __future__ import annotations

from itertools import count
from typing import Literal

from beanie import PydanticObjectId

from scrm.models import CannedResponse, Conversation, Direction, Message, Note
from tests.api.world import Side, add_contact

_serial = count(1)


async def seed_conversation(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A conversation on the agent's channel, or on the other one; returns its id."""
    channel = side.agent_channel if reach == "agent" else side.other_channel
    assert channel is not None
    contact_id = await add_contact(side, f"Inbox contact {next(_serial)}", channel)
    conversation = await side.scope.find_one(Conversation, {"contact_id": contact_id})
    assert conversation is not None
    return str(conversation.id)


async def seed_note(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A note on a new conversation on the agent's channel, or on the other one; returns its id."""
    conversation = await side.scope.get(Conversation, PydanticObjectId(await seed_conversation(side, reach)))
    assert conversation.id is not None
    note = Note(
        workspace_id=side.scope.workspace_id,
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        author="test",
        text="Called her back; waiting for the order number.",
    )
    return str((await side.scope.insert(note)).id)


async def seed_message(side: Side, reach: Literal["agent", "outside"]) -> str:
    """An inbound message in a new conversation on the agent's channel, or on the other one; returns its id."""
    conversation = await side.scope.get(Conversation, PydanticObjectId(await seed_conversation(side, reach)))
    assert conversation.id is not None
    message = Message(
        workspace_id=side.scope.workspace_id,
        channel_id=conversation.channel_id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        platform=conversation.platform,
        external_id=f"m-{next(_serial)}",
        direction=Direction.INBOUND,
        text="Is the oat latte back?",
        sent_at=side.workspace.created_at,
    )
    return str((await side.scope.insert(message)).id)


async def seed_canned(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A canned response of the workspace (every member sees them all); returns its id."""
    canned = CannedResponse(workspace_id=side.scope.workspace_id, name=f"thanks-{next(_serial)}", text="Thank you!")
    return str((await side.scope.insert(canned)).id)

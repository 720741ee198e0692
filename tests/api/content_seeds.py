"""Posts and comments made straight in MongoDB, for the API's isolation suite."""

from __future__ import annotations

from itertools import count
from typing import Literal

from scrm.models import Comment, Post
from tests.api.world import Side, add_contact

_serial = count(1)


async def seed_post(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A post on the agent's channel, or on the other one; returns its id."""
    channel = side.agent_channel if reach == "agent" else side.other_channel
    assert channel is not None and channel.id is not None
    post = Post(
        workspace_id=side.scope.workspace_id,
        channel_id=channel.id,
        platform=channel.platform,
        external_id=f"facebook:{next(_serial)}",
        text="New oat latte, this week only.",
        published_at=side.workspace.created_at,
    )
    return str((await side.scope.insert(post)).id)


async def seed_comment(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A contact's comment under a post on the agent's channel, or on the other one; returns its id."""
    channel = side.agent_channel if reach == "agent" else side.other_channel
    assert channel is not None and channel.id is not None
    serial = next(_serial)
    comment = Comment(
        workspace_id=side.scope.workspace_id,
        channel_id=channel.id,
        platform=channel.platform,
        external_id=f"facebook:c{serial}",
        post_external_id=f"facebook:p{serial}",
        contact_id=await add_contact(side, f"Commenter {serial}", channel),
        text="Is it vegan?",
        created_time=side.workspace.created_at,
    )
    return str((await side.scope.insert(comment)).id)

"""Two workspaces with data and a token for every role: the world the API tests run in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from beanie import PydanticObjectId

from scrm.auth.tokens import create_token
from scrm.models import (
    Channel,
    ChannelCredentials,
    Contact,
    Conversation,
    Identity,
    Role,
    SecretBox,
    Workspace,
    WorkspaceScope,
)

SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


@dataclass
class Side:
    """One workspace of the world: its scope, a token per role, and one channel per reach."""

    workspace: Workspace
    scope: WorkspaceScope
    tokens: dict[Role, str] = field(default_factory=dict)
    agent_channel: Channel | None = None
    other_channel: Channel | None = None

    def bearer(self, role: Role) -> dict[str, str]:
        """Authorization headers of this side's token for `role`."""
        return {"authorization": f"Bearer {self.tokens[role]}"}


@dataclass
class World:
    """Workspace `a` (the caller's) and workspace `b` (the one that must stay invisible)."""

    a: Side
    b: Side
    now: datetime

    def side(self, name: str) -> Side:
        """`a` or `b` by name."""
        return self.a if name == "a" else self.b


async def make_side(name: str, now: datetime) -> Side:
    """A workspace with two channels (one the agent belongs to) and a token for every role."""
    workspace = Workspace(name=name, display_name=f"Workspace {name.upper()}", created_at=now)
    await workspace.insert()
    assert workspace.id is not None
    scope = WorkspaceScope(workspace.id)
    side = Side(workspace=workspace, scope=scope)
    side.agent_channel = await add_channel(side, f"{name}-agent-bot", {"bot_token": f"{name}-token-1"})
    side.other_channel = await add_channel(side, f"{name}-other-bot", {"bot_token": f"{name}-token-2"})
    for role in Role:
        channels = [side.agent_channel.id] if role is Role.AGENT and side.agent_channel.id else []
        _, plain = await create_token(
            scope, role, f"{name} {role.value} token", now, actor="test", channel_ids=channels
        )
        side.tokens[role] = plain
    return side


async def add_channel(side: Side, name: str, credentials: dict[str, str]) -> Channel:
    """A telegram channel in this side's workspace with sealed credentials."""
    channel = await side.scope.insert(Channel(workspace_id=side.scope.workspace_id, platform="telegram", name=name))
    assert channel.id is not None
    stored = ChannelCredentials(workspace_id=side.scope.workspace_id, channel_id=channel.id)
    stored.seal(SecretBox.from_secret_key(SECRET_KEY), credentials)
    await side.scope.insert(stored)
    return channel


async def add_contact(side: Side, name: str, channel: Channel) -> PydanticObjectId:
    """A contact with a conversation on `channel`; returns the contact's id."""
    assert channel.id is not None
    identity = Identity(platform="telegram", external_id=f"{name}-{channel.id}", channel_id=channel.id)
    contact = await side.scope.insert(Contact(workspace_id=side.scope.workspace_id, name=name, identities=[identity]))
    assert contact.id is not None
    conversation = Conversation(
        workspace_id=side.scope.workspace_id,
        channel_id=channel.id,
        contact_id=contact.id,
        platform="telegram",
        external_id=identity.external_id,
    )
    await side.scope.insert(conversation)
    return contact.id


async def make_world(now: datetime) -> World:
    """Both workspaces."""
    return World(a=await make_side("alpha", now), b=await make_side("bravo", now), now=now)

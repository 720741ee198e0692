"""A help desk to assign in: a workspace, a Telegram channel, three agents in one team, and contacts writing in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Literal

from beanie import PydanticObjectId

from scrm.auth.accounts import add_member, create_user, create_workspace
from scrm.auth.roles import Principal
from scrm.connectors.items import InboundMessage, Sender
from scrm.events import Event, Where
from scrm.inbox.availability import set_availability
from scrm.inbox.teams import add_team_member, create_team
from scrm.models import AgentAvailability, AgentStatus, Channel, Conversation, Role, Team, WorkspaceScope
from scrm.pipeline import process_many
from tests.api.world import Side

PASSWORD = "correct horse battery"
_serial = count(1)


@dataclass
class Desk:
    """The workspace's scope, its channel, an admin principal, the agents by name and their team."""

    scope: WorkspaceScope
    channel: Channel
    admin: Principal
    team: Team
    agents: dict[str, PydanticObjectId] = field(default_factory=dict)

    @property
    def where(self) -> Where:
        """Where the contacts write: the desk's Telegram channel."""
        assert self.channel.id is not None
        return Where(self.scope.workspace_id, self.channel.id, "telegram")

    def name_of(self, user_id: PydanticObjectId | None) -> str | None:
        """The agent name of a user id (None for nobody)."""
        return next((name for name, oid in self.agents.items() if oid == user_id), None)


async def make_desk(
    now: datetime,
    agents: Sequence[str] = ("ana", "ben", "cai"),
    *,
    name: str = "desk",
    auto_assign: bool = True,
    capacity: int = 20,
) -> Desk:
    """A new workspace with one channel and a team of `agents` handling it, every agent online now."""
    workspace = await create_workspace(name, now, actor="test", display_name=name.title())
    assert workspace.id is not None
    scope = WorkspaceScope(workspace.id)
    channel = await scope.insert(Channel(workspace_id=workspace.id, platform="telegram", name=f"{name} bot"))
    return await staff(channel, now, agents, auto_assign=auto_assign, capacity=capacity)


async def staff(
    channel: Channel, now: datetime, agents: Sequence[str], *, auto_assign: bool = True, capacity: int = 20
) -> Desk:
    """A team of `agents` (new users, online now) handling an existing channel."""
    assert channel.id is not None
    scope = WorkspaceScope(channel.workspace_id)
    admin = Principal(channel.workspace_id, Role.ADMIN, "test")
    team = await create_team(
        admin, "Support", now, channel_ids=[channel.id], auto_assign=auto_assign, default_capacity=capacity
    )
    desk = Desk(scope, channel, admin, team)
    for agent in agents:
        user = await create_user(f"{agent}-{next(_serial)}@example.com", PASSWORD, now, display_name=agent.title())
        assert user.id is not None and team.id is not None
        await add_member(channel.workspace_id, user, Role.AGENT, now, actor="test")
        desk.team = await add_team_member(admin, team.id, user.id)
        await set_availability(admin, user.id, now, status=AgentStatus.ONLINE)
        desk.agents[agent] = user.id
    return desk


def messages(desk: Desk, how_many: int, at: datetime, text: str = "Hello?") -> list[tuple[InboundMessage, Where]]:
    """One first message from each of `how_many` new contacts, a second apart."""
    batch = []
    for n in range(how_many):
        serial = next(_serial)
        sender = Sender(f"user-{serial}", display_name=f"Contact {serial}")
        item = InboundMessage("telegram", f"m-{serial}", f"chat-{serial}", sender, at + timedelta(seconds=n), text)
        batch.append((item, desk.where))
    return batch


async def arrive(desk: Desk, how_many: int, now: datetime) -> list[Event | None]:
    """New contacts write in through the pipeline; returns its events."""
    return await process_many(messages(desk, how_many, now - timedelta(minutes=1)), now)


async def conversations(desk: Desk) -> list[Conversation]:
    """Every conversation of the desk, oldest activity first."""
    return await desk.scope.find(Conversation).sort("+last_message_at", "+_id").to_list()


async def load(desk: Desk) -> dict[str | None, int]:
    """How many conversations each agent (None: nobody) has."""
    found: dict[str | None, int] = {}
    for conversation in await conversations(desk):
        name = desk.name_of(conversation.assignee_id)
        found[name] = found.get(name, 0) + 1
    return found


async def seed_team(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A team of the workspace handling no channel yet (every member reads the teams); returns its id."""
    team = Team(workspace_id=side.scope.workspace_id, name=f"Team {next(_serial)}")
    return str((await side.scope.insert(team)).id)


async def seed_availability(side: Side, reach: Literal["agent", "outside"]) -> str:
    """A new agent of the workspace who is online; returns their user id (availability is listed by user)."""
    at = side.workspace.created_at
    user = await create_user(f"available-{next(_serial)}@example.com", PASSWORD, at)
    assert user.id is not None
    await add_member(side.scope.workspace_id, user, Role.AGENT, at, actor="test")
    row = AgentAvailability(workspace_id=side.scope.workspace_id, user_id=user.id, status=AgentStatus.ONLINE)
    await side.scope.insert(row)
    return str(user.id)

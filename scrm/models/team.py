"""Team and AgentAvailability: who works which channels together, and whether each agent can take more work."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument

DEFAULT_CAPACITY = 20
"""How many open conversations an agent is given at most at once, unless the agent or the team says otherwise."""


class Team(WorkspaceDocument):
    """A group of members who handle some channels; new conversations of those channels go to its members in turn.

    `rotation` only grows: each conversation offered for automatic assignment takes the next number (one atomic
    `$inc` per batch), so workers running side by side still hand conversations out in turn.
    """

    name: str
    description: str = ""
    member_ids: list[PydanticObjectId] = Field(default_factory=list)
    """User ids, in the order the rotation visits them."""
    channel_ids: list[PydanticObjectId] = Field(default_factory=list)
    auto_assign: bool = False
    default_capacity: int = DEFAULT_CAPACITY
    """The capacity of a member who has set none of their own."""
    rotation: int = 0

    class Settings:
        name = "teams"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)], unique=True, name="name_unique"),
            IndexModel([("workspace_id", ASCENDING), ("channel_ids", ASCENDING)], name="team_channels"),
        ]


class AgentStatus(StrEnum):
    """What an agent says of themselves; only `online` agents are given new conversations."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AgentAvailability(WorkspaceDocument):
    """One member's availability in one workspace: their status, when they were last active, their capacity.

    `assign_seq` grows by one with every commit of automatic assignments to this agent; a worker counts the
    agent's open conversations after reading it and commits only if it has not moved, so two workers never
    both fill the agent's last free place.
    """

    user_id: PydanticObjectId
    status: AgentStatus = AgentStatus.OFFLINE
    last_seen_at: datetime | None = None
    capacity: int | None = None
    """At most this many open conversations assigned at once; None takes the team's default."""
    assign_seq: int = 0

    class Settings:
        name = "agent_availability"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="agent_unique"),
        ]

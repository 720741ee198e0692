"""Service levels: a workspace's business hours, its SLA policy, and the SLA clock kept on each conversation."""

from __future__ import annotations

from datetime import datetime

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from scrm.models.base import WorkspaceDocument

PAUSABLE = ("pending", "snoozed")
"""The conversation statuses that may pause its SLA clock (waiting on the customer, or put aside until later)."""


class OpenInterval(BaseModel):
    """Open on one weekday (0 Monday … 6 Sunday) from `start` to `end` minutes after local midnight."""

    weekday: int
    start: int
    end: int


class BusinessHours(WorkspaceDocument):
    """When a workspace answers: open intervals per weekday in its timezone, and holidays (local dates).

    No interval at all means open around the clock; holidays are closed either way. One per workspace.
    """

    timezone: str = "UTC"
    intervals: list[OpenInterval] = Field(default_factory=list)
    holidays: list[str] = Field(default_factory=list)
    """Local dates, `YYYY-MM-DD`, sorted."""
    updated_at: datetime | None = None
    updated_by: str = ""

    class Settings:
        name = "business_hours"
        indexes = [IndexModel([("workspace_id", ASCENDING)], unique=True, name="one_per_workspace")]


class SlaPolicy(WorkspaceDocument):
    """A workspace's service-level targets: a first response and a resolution within so many minutes.

    `business_time` counts only open hours (BusinessHours), otherwise calendar time. `channel_ids` limits the
    policy to those channels (empty: every channel). A target of None is not measured. One per workspace;
    a change applies to clocks started after it. `pause_on`: the statuses (of `PAUSABLE`) that stop a running
    clock while the conversation is in them; a policy stored before it existed pauses on both.
    """

    name: str = "Default"
    enabled: bool = True
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_time: bool = True
    channel_ids: list[PydanticObjectId] = Field(default_factory=list)
    pause_on: list[str] = Field(default_factory=lambda: list(PAUSABLE))
    updated_at: datetime | None = None
    updated_by: str = ""

    class Settings:
        name = "sla_policies"
        indexes = [IndexModel([("workspace_id", ASCENDING)], unique=True, name="one_per_workspace")]


class SlaClock(BaseModel):
    """One SLA cycle of a conversation: from the contact's message that started it to its resolution.

    Each target (first response, resolution) has a due time, a warning time (80 % of the target used) and
    the moment it stopped; `*_breached` records a target that stopped late. `breached_at` and `warn_at` are
    kept for the list's filters: `breached_at` is the earliest due time of a target still running or one that
    stopped late (so "breached now" is `breached_at <= now`, with no poller), `warn_at` the earliest warning
    time of a running target. `paused_at` is set while the conversation is in a status that pauses the clock:
    the running targets stand still (`breached_at` then keeps only the targets already late at the pause, and
    `warn_at` is empty), and on resuming their due and warning times move later by the time spent paused.
    """

    policy_id: PydanticObjectId
    started_at: datetime
    first_response_due: datetime | None = None
    first_response_warn_at: datetime | None = None
    first_responded_at: datetime | None = None
    first_response_breached: bool = False
    resolution_due: datetime | None = None
    resolution_warn_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_breached: bool = False
    breached_at: datetime | None = None
    warn_at: datetime | None = None
    paused_at: datetime | None = None

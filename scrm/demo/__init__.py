"""The demo workspace: a coffee brand on Telegram, WeChat, Facebook and its website, in English and Chinese.

Channels get real (sealed) credentials, and the history — messages, posts, comments — is replayed as the
platforms would have delivered it, through the connectors and the pipeline (identity resolution, threading,
tagging, auto-assignment, SLA clocks), so the demo behaves like live data. A team works it: agents with demo
logins in two teams that auto-assign their channels (one agent away, so a queue waits), business hours and an
SLA policy (some conversations breached, some at risk), and a resolved conversation whose CSAT survey was
answered. Loading is idempotent: every piece has a unique key, so loading twice changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from beanie import PydanticObjectId

from scrm import pipeline
from scrm.auth.accounts import add_member, create_user, find_user
from scrm.channel_access import ChannelAccess
from scrm.demo.history import iter_history, parse_history
from scrm.demo.people import DemoLogin, add_people, configure_service, person_logins
from scrm.demo.replies import record_replies, settle_profiles
from scrm.demo.resolutions import replay_answers, resolve_conversations
from scrm.demo.timeline import Timeline
from scrm.inbox.sla import schedule_of
from scrm.models import BusinessHours, Channel, ChannelCredentials, Membership, Role, Workspace, WorkspaceScope
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore

DATA = Path(__file__).with_name("workspace.json")
DEMO_WORKSPACE = "demo"
# The demo owner's login, printed by `scrm up --demo`: for trying scrm out, never for real data.
DEMO_OWNER_EMAIL = "owner@demo.example"
DEMO_OWNER_PASSWORD = "scrm-demo-owner"  # noqa: S105


def demo_logins() -> list[DemoLogin]:
    """Every demo login (the owner first, then the agents): printed by `scrm up --demo` and `scrm demo load`."""
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return [DemoLogin(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, "Demo Owner", Role.OWNER.value), *person_logins(data)]


@dataclass
class DemoSummary:
    """How many things of each kind the load created (zero everywhere on a second load)."""

    workspace_id: PydanticObjectId | None = None
    created: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: int | bool) -> None:
        """Count `created` new things of `kind`."""
        self.created[kind] = self.created.get(kind, 0) + int(created)


async def load_demo(now: datetime, box: SecretBox, tagger: pipeline.Tagger | None = None) -> DemoSummary:
    """Create the demo workspace and replay its history where missing; times are relative to `now`."""
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    summary = DemoSummary()
    workspace = await _workspace(data["workspace"], now, summary)
    await _owner(workspace, now, summary)
    channels = {spec["key"]: await _channel(workspace, spec, box, now, summary) for spec in data["channels"]}
    summary.count("service settings", await configure_service(workspace, data, now))
    for kind, created in (await add_people(workspace, data, channels, now)).items():
        summary.count(kind, created)
    hours = await WorkspaceScope(workspace).find_one(BusinessHours)
    timeline = Timeline(now, schedule_of(hours))
    batch = parse_history(iter_history(data, channels, timeline), MongoTokenStore(box))
    events = await pipeline.process_many(batch, now, tagger)
    summary.count("items", sum(event is not None for event in events))
    await settle_profiles(data, channels, now)
    summary.count("replies", await record_replies(data, channels, timeline))
    summary.count("resolutions", await resolve_conversations(data, channels, timeline))
    summary.count("survey answers", await replay_answers(data, channels, timeline, box, tagger))
    return summary


async def _workspace(spec: dict[str, Any], now: datetime, summary: DemoSummary) -> PydanticObjectId:
    found = await Workspace.find_one(Workspace.name == spec["name"])
    summary.count("workspaces", found is None)
    workspace = found or await Workspace(created_at=now, **spec).insert()
    assert workspace.id is not None
    summary.workspace_id = workspace.id
    return workspace.id


async def _owner(workspace_id: PydanticObjectId, now: datetime, summary: DemoSummary) -> None:
    user = await find_user(DEMO_OWNER_EMAIL)
    summary.count("users", user is None)
    if user is None:
        user = await create_user(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, now, display_name="Demo Owner")
    assert user.id is not None
    if await WorkspaceScope(workspace_id).find_one(Membership, {"user_id": user.id}) is None:
        await add_member(workspace_id, user, Role.OWNER, now, actor="demo")


async def _channel(
    workspace_id: PydanticObjectId, spec: dict[str, Any], box: SecretBox, now: datetime, summary: DemoSummary
) -> ChannelAccess:
    """The demo channel (created with sealed credentials when missing), as the pipeline sees channels."""
    scope = WorkspaceScope(workspace_id)
    channel = await scope.find_one(Channel, {"name": spec["name"]})
    summary.count("channels", channel is None)
    if channel is None:
        fields = {k: spec[k] for k in ("platform", "name", "config")}
        channel = await scope.insert(Channel(workspace_id=workspace_id, created_at=now, **fields))
    assert channel.id is not None
    if await scope.find_one(ChannelCredentials, {"channel_id": channel.id}) is None:
        credentials = ChannelCredentials(workspace_id=workspace_id, channel_id=channel.id, created_at=now)
        credentials.seal(box, spec["credentials"])
        await scope.insert(credentials)
    return ChannelAccess(channel.id, workspace_id, channel.platform, dict(channel.config), spec["credentials"])

"""The demo's team: agents with known logins, teams that auto-assign the demo channels, their availability, and
the workspace's business hours, SLA policy and CSAT survey.

Everything goes through the inbox's own services (teams, availability, SLA settings, CSAT settings), as an
owner would set it up on the settings pages, and only where it is missing, so loading again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.accounts import add_member, create_user, find_user
from scrm.auth.roles import Principal
from scrm.channel_access import ChannelAccess
from scrm.inbox import sla_settings
from scrm.inbox.availability import set_availability
from scrm.inbox.csat import save_csat_settings
from scrm.inbox.teams import create_team, set_team_members
from scrm.models import AgentAvailability, AgentStatus, CsatSettings, Membership, Role, SlaPolicy, Team, WorkspaceScope

ACTOR = "demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo person's login, printed by `scrm up --demo` and `scrm demo load`: for trying scrm out only."""

    email: str
    password: str
    name: str
    role: str
    about: str = ""
    """Their teams and availability, for people choosing whom to sign in as."""


def person_logins(data: Mapping[str, Any]) -> list[DemoLogin]:
    """The demo agents' logins, as the data file gives them."""
    logins = []
    for person in data["people"]:
        teams = [team["name"] for team in data["teams"] if person["email"] in team["members"]]
        about = f"{', '.join(teams)}; {person['status']}"
        logins.append(DemoLogin(person["email"], person["password"], person["name"], person["role"], about))
    return logins


def owner_principal(workspace_id: PydanticObjectId) -> Principal:
    """The demo's setup acting as the workspace's owner."""
    return Principal(workspace_id, Role.OWNER, ACTOR)


async def member_principal(workspace_id: PydanticObjectId, user_id: PydanticObjectId) -> Principal:
    """A member acting in the demo workspace with their own role and reach, as when they are signed in."""
    member = await WorkspaceScope(workspace_id).find_one(Membership, {"user_id": user_id})
    if member is None:
        return owner_principal(workspace_id)
    return Principal(
        workspace_id=workspace_id,
        role=member.role,
        actor=f"user:{user_id}",
        channel_ids=frozenset(member.channel_ids),
        team_ids=frozenset(member.team_ids),
    )


async def add_people(
    workspace_id: PydanticObjectId, data: Mapping[str, Any], channels: Mapping[str, ChannelAccess], now: datetime
) -> dict[str, int]:
    """The agents (limited to their teams' channels), the teams and each agent's availability; what was new."""
    created = {"users": 0, "teams": 0, "availability": 0}
    scope, owner = WorkspaceScope(workspace_id), owner_principal(workspace_id)
    users: dict[str, PydanticObjectId] = {}
    for person in data["people"]:
        keys = [key for team in data["teams"] if person["email"] in team["members"] for key in team["channels"]]
        handled = list(dict.fromkeys(channels[key].channel_id for key in keys))
        user = await find_user(person["email"])
        if user is None:
            user = await create_user(person["email"], person["password"], now, display_name=person["name"])
            user.language = person.get("language")
            await user.save()
            created["users"] += 1
        assert user.id is not None
        users[person["email"]] = user.id
        if await scope.find_one(Membership, {"user_id": user.id}) is None:
            await add_member(workspace_id, user, Role(person["role"]), now, actor=ACTOR, channel_ids=handled)
    for spec in data["teams"]:
        team = await scope.find_one(Team, {"name": spec["name"]})
        if team is None:
            team = await create_team(
                owner,
                spec["name"],
                now,
                description=spec.get("description", ""),
                channel_ids=[channels[key].channel_id for key in spec["channels"]],
                auto_assign=bool(spec.get("auto_assign", False)),
            )
            assert team.id is not None
            await set_team_members(owner, team.id, [users[email] for email in spec["members"]])
            created["teams"] += 1
    for person in data["people"]:
        user_id = users[person["email"]]
        if await scope.find_one(AgentAvailability, {"user_id": user_id}) is None:
            await set_availability(owner, user_id, now, status=AgentStatus(person["status"]))
            created["availability"] += 1
    return created


async def configure_service(workspace_id: PydanticObjectId, data: Mapping[str, Any], now: datetime) -> bool:
    """Business hours, the SLA policy and the CSAT survey, set once (when the workspace has no SLA policy yet).

    Returns whether they were set now. The policy comes last: it marks the whole as done.
    """
    scope = WorkspaceScope(workspace_id)
    if await scope.find_one(SlaPolicy) is not None:
        return False
    hours = data["business_hours"]
    intervals = [sla_settings.IntervalForm(i["weekday"], i["start"], i["end"]) for i in hours["intervals"]]
    await sla_settings.save_hours(
        scope, sla_settings.HoursForm(hours["timezone"], intervals, list(hours["holidays"])), now, ACTOR
    )
    csat = data["csat"]
    await save_csat_settings(workspace_id, CsatSettings(enabled=bool(csat["enabled"])))
    policy = data["sla_policy"]
    form = sla_settings.PolicyForm(
        name=policy["name"],
        enabled=True,
        first_response_minutes=policy.get("first_response_minutes"),
        resolution_minutes=policy.get("resolution_minutes"),
        business_time=bool(policy.get("business_time", True)),
    )
    await sla_settings.save_policy(scope, form, now, ACTOR)
    return True

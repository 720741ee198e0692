"""`/api/v1/teams` and `/api/v1/availability`: who handles which channels, and who can take new conversations.

Every member reads the teams; admins and owners manage them. A team's members are user ids in the order the
round-robin visits them. Availability is per member: a signed-in member sets their own status in the inbox,
admins read everyone's and may set anyone's status and capacity here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, delete, get, patch, post, put
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody

from scrm.api.inbox import INBOX_ERRORS, READ
from scrm.api.members import ObjectIdText
from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission
from scrm.inbox import availability, teams
from scrm.inbox.conversations import InboxInputError
from scrm.models import DEFAULT_CAPACITY, AgentStatus, Team

Capacity = Annotated[int, msgspec.Meta(ge=1, le=availability.MAX_CAPACITY)]
TeamName = Annotated[str, msgspec.Meta(min_length=1, max_length=teams.MAX_NAME)]
Description = Annotated[str, msgspec.Meta(max_length=teams.MAX_DESCRIPTION)]
ChannelIds = Annotated[list[ObjectIdText], msgspec.Meta(max_length=500)]
T = TypeVar("T")
MANAGE = [requires(Permission.MANAGE_MEMBERS)]
WORK = [requires(Permission.WORK_INBOX)]


class TeamIn(msgspec.Struct, forbid_unknown_fields=True):
    """A team to create; members are added afterwards."""

    name: TeamName
    description: Description = ""
    channel_ids: ChannelIds = msgspec.field(default_factory=list)
    auto_assign: bool = False
    default_capacity: Capacity = DEFAULT_CAPACITY


class TeamPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a team; fields left out keep their value."""

    name: TeamName | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    channel_ids: ChannelIds | msgspec.UnsetType = msgspec.UNSET
    auto_assign: bool | msgspec.UnsetType = msgspec.UNSET
    default_capacity: Capacity | msgspec.UnsetType = msgspec.UNSET


class MembersIn(msgspec.Struct, forbid_unknown_fields=True):
    """All of a team's members, as user ids in the rotation's order."""

    user_ids: Annotated[list[ObjectIdText], msgspec.Meta(max_length=teams.MAX_MEMBERS)]


class TeamOut(msgspec.Struct):
    """A team."""

    id: str
    name: str
    description: str
    member_ids: list[str]
    channel_ids: list[str]
    auto_assign: bool
    default_capacity: int
    created_at: datetime


class TeamList(msgspec.Struct):
    """Every team of the workspace, by name (a workspace has a handful, so no paging)."""

    items: list[TeamOut]


class AvailabilityPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A new status and/or capacity (null: the team's default)."""

    status: AgentStatus | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType | None = msgspec.UNSET


class AvailabilityOut(msgspec.Struct):
    """A member who works the inbox, and whether they are given new conversations now (`available`)."""

    id: str
    """The member's user id."""
    email: str
    display_name: str
    role: str
    status: str
    last_seen_at: datetime | None
    capacity: int | None
    available: bool


class AvailabilityList(msgspec.Struct):
    """Every member who works the inbox."""

    items: list[AvailabilityOut]


def team_out(team: Team) -> TeamOut:
    """The API view of a team."""
    return TeamOut(
        id=str(team.id),
        name=team.name,
        description=team.description,
        member_ids=[str(m) for m in team.member_ids],
        channel_ids=[str(c) for c in team.channel_ids],
        auto_assign=team.auto_assign,
        default_capacity=team.default_capacity,
        created_at=team.created_at,
    )


def availability_out(found: availability.MemberAvailability, now: datetime) -> AvailabilityOut:
    """The API view of a member's availability."""
    row = found.availability
    return AvailabilityOut(
        id=str(found.user.id),
        email=found.user.email,
        display_name=found.user.display_name,
        role=found.role.value,
        status=row.status.value,
        last_seen_at=row.last_seen_at,
        capacity=row.capacity,
        available=found.is_available(now),
    )


def _ids(values: list[str]) -> list[PydanticObjectId]:
    return [PydanticObjectId(v) for v in values]


def _given(value: T | msgspec.UnsetType) -> T | None:
    return None if isinstance(value, msgspec.UnsetType) else value


class TeamsController(Controller):
    """Teams of members and the channels they handle, with round-robin auto-assignment."""

    path = "/teams"
    tags = ("teams",)
    exception_handlers = INBOX_ERRORS

    @get("/", guards=READ, summary="List teams")
    async def list(self, principal: Caller) -> TeamList:
        """The workspace's teams, by name."""
        return TeamList([team_out(t) for t in await teams.list_teams(principal)])

    @get("/{team_id:str}", guards=READ, summary="Get a team")
    async def show(self, principal: Caller, team_id: FromPath[str]) -> TeamOut:
        """One team."""
        return team_out(await teams.get_team(principal, parse_id(team_id, "team")))

    @post("/", guards=MANAGE, summary="Create a team", description="409 when the name is taken.")
    async def create(self, principal: Caller, data: JSONBody[TeamIn], now: Now) -> TeamOut:
        """A new team without members."""
        team = await teams.create_team(
            principal,
            data.name,
            now,
            description=data.description,
            channel_ids=_ids(data.channel_ids),
            auto_assign=data.auto_assign,
            default_capacity=data.default_capacity,
        )
        return team_out(team)

    @patch("/{team_id:str}", guards=MANAGE, summary="Change a team")
    async def update(self, principal: Caller, team_id: FromPath[str], data: JSONBody[TeamPatch]) -> TeamOut:
        """Rename a team, change its channels, auto-assignment or default capacity."""
        channels = _given(data.channel_ids)
        team = await teams.change_team(
            principal,
            parse_id(team_id, "team"),
            name=_given(data.name),
            description=_given(data.description),
            channel_ids=None if channels is None else _ids(channels),
            auto_assign=_given(data.auto_assign),
            default_capacity=_given(data.default_capacity),
        )
        return team_out(team)

    @delete("/{team_id:str}", guards=MANAGE, summary="Delete a team")
    async def remove(self, principal: Caller, team_id: FromPath[str]) -> None:
        """Remove a team; its conversations keep their assignees and leave its queue."""
        await teams.delete_team(principal, parse_id(team_id, "team"))

    @put("/{team_id:str}/members", guards=MANAGE, summary="Set a team's members")
    async def set_members(self, principal: Caller, team_id: FromPath[str], data: JSONBody[MembersIn]) -> TeamOut:
        """Make these users (owners, admins or agents of the workspace) the team, in the rotation's order."""
        return team_out(await teams.set_team_members(principal, parse_id(team_id, "team"), _ids(data.user_ids)))

    @put("/{team_id:str}/members/{user_id:str}", guards=MANAGE, summary="Add a member to a team")
    async def add_member(self, principal: Caller, team_id: FromPath[str], user_id: FromPath[str]) -> TeamOut:
        """Add one member (last in the rotation); adding them again changes nothing."""
        member = _user_id(user_id)
        return team_out(await teams.add_team_member(principal, parse_id(team_id, "team"), member))

    @delete("/{team_id:str}/members/{user_id:str}", guards=MANAGE, summary="Remove a member from a team")
    async def remove_member(self, principal: Caller, team_id: FromPath[str], user_id: FromPath[str]) -> None:
        """Take one member out of a team; the conversations they have stay theirs."""
        await teams.remove_team_member(principal, parse_id(team_id, "team"), _user_id(user_id))


def _user_id(value: str) -> PydanticObjectId:
    parsed = PydanticObjectId(value) if PydanticObjectId.is_valid(value) else None
    if parsed is None:
        raise InboxInputError(f"Invalid user id {value!r}")
    return parsed


class AvailabilityController(Controller):
    """Members' availability for automatic assignment: status (online, away, offline) and capacity."""

    path = "/availability"
    tags = ("teams",)
    exception_handlers = INBOX_ERRORS

    @get("/", guards=MANAGE, summary="List members' availability")
    async def list(self, principal: Caller, now: Now) -> AvailabilityList:
        """Every member who works the inbox: status, last activity, capacity, and whether they are available now."""
        found = await availability.list_availability(principal)
        return AvailabilityList([availability_out(f, now) for f in found])

    @get("/{user_id:str}", guards=MANAGE, summary="Get a member's availability")
    async def show(self, principal: Caller, user_id: FromPath[str], now: Now) -> AvailabilityOut:
        """One member's availability (by user id)."""
        found = await availability.get_member_availability(principal, parse_id(user_id, "member"))
        return availability_out(found, now)

    @patch(
        "/{user_id:str}",
        guards=WORK,
        summary="Set a member's status or capacity",
        description=(
            "A member sets their own status; admins set anyone's status and capacity (null: the team's "
            "default). An API token is no member, so only an admin token changes availability here."
        ),
    )
    async def update(
        self, principal: Caller, user_id: FromPath[str], data: JSONBody[AvailabilityPatch], now: Now
    ) -> AvailabilityOut:
        """Change a member's status and/or capacity."""
        oid = parse_id(user_id, "member")
        status = _given(data.status)
        capacity = _given(data.capacity)
        try:
            await availability.set_availability(
                principal, oid, now, status=status, capacity=capacity, clear_capacity=data.capacity is None
            )
        except availability.AvailabilityRefused as exc:
            raise PermissionDeniedException(str(exc)) from None
        return availability_out(await availability.get_member_availability(principal, oid), now)

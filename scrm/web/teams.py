"""The teams page (`/teams`, admins) and availability (`/availability`): who handles which channels, who is online.

The inbox header loads the availability switch as a fragment every minute; that poll is also the agent's
activity, so `last_seen_at` stays fresh while an inbox tab is open and goes stale (no new conversations)
when every tab is closed. Forms post and redirect back (post/redirect/get), so they work without JavaScript.
"""

from __future__ import annotations

from typing import Any

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap
from pymongo.errors import DuplicateKeyError

from scrm.auth.clock import now_of
from scrm.auth.roles import Permission, Principal
from scrm.auth.ui.signed_in import safe_next
from scrm.auth.visibility import channel_filter
from scrm.inbox import availability, teams
from scrm.inbox.conversations import InboxInputError, user_id_of
from scrm.models import DEFAULT_CAPACITY, AgentStatus, Channel, NotInWorkspace
from scrm.web.errors import handle_error
from scrm.web.inbox.pages import form_principal, principal_of, signed_in_of
from scrm.web.pages import page_context

STATUSES = tuple(s.value for s in AgentStatus)


class TeamForm(msgspec.Struct):
    """The create and edit forms of a team."""

    csrf_token: str = ""
    name: str = ""
    description: str = ""
    channel_ids: list[str] | str = msgspec.field(default_factory=list)
    """One ticked box arrives as a string, several as a list."""
    member_ids: list[str] | str = msgspec.field(default_factory=list)
    auto_assign: str = ""
    default_capacity: str = ""


class StatusForm(msgspec.Struct):
    """The availability switch, and an admin's change of a member's status or capacity."""

    csrf_token: str = ""
    status: str = ""
    capacity: str = ""
    next: str = ""


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, NotFoundException(str(exc)))


def _bad_input(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, ClientException(str(exc)))


def _taken(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, ClientException("Another team already has this name", status_code=409))


UI_ERRORS: ExceptionHandlersMap = {
    NotInWorkspace: _not_found,
    InboxInputError: _bad_input,
    DuplicateKeyError: _taken,
}


def _ids(values: list[str] | str) -> list[PydanticObjectId]:
    listed = [values] if isinstance(values, str) else values
    return [PydanticObjectId(v) for v in listed if PydanticObjectId.is_valid(v)]


def _capacity(value: str, default: int | None) -> int | None:
    """A capacity typed in a form: a whole number, or `default` when left empty."""
    if not value.strip():
        return default
    if not value.strip().isdigit():
        raise InboxInputError(f"A capacity is a whole number from 1 to {availability.MAX_CAPACITY}")
    return int(value)


def _admin(request: Request[Any, Any, Any], data: TeamForm | StatusForm | None = None) -> Principal:
    if data is not None:
        return form_principal(request, data, Permission.MANAGE_MEMBERS)
    return principal_of(request, Permission.MANAGE_MEMBERS)


class TeamsPageController(Controller):
    """Teams: list, create, edit (channels, members, auto-assignment, capacity), delete."""

    path = "/teams"
    include_in_schema = False
    exception_handlers = UI_ERRORS

    @get("/", name="teams")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        """Every team with its channels and members, the forms to change them, and everyone's availability."""
        principal = _admin(request)
        channels = await principal.scope.find(Channel, channel_filter(principal)).sort("+name").to_list()
        found = await teams.list_teams(principal)
        people = await availability.list_availability(principal)
        context = page_context(
            request,
            "teams",
            teams=found,
            channels=channels,
            people=people,
            statuses=STATUSES,
            default_capacity=DEFAULT_CAPACITY,
            now=now_of(request.app.state),
            csrf_token=signed_in_of(request).csrf_token,
        )
        return Template(template_name="teams.html", context=context)

    @post("/", name="team_create")
    async def create(self, request: Request[Any, Any, Any], data: URLEncodedBody[TeamForm]) -> Redirect:
        """Create a team (members are chosen afterwards, in its edit form)."""
        principal = _admin(request, data)
        await teams.create_team(
            principal,
            data.name,
            now_of(request.app.state),
            description=data.description,
            channel_ids=_ids(data.channel_ids),
            auto_assign=bool(data.auto_assign),
            default_capacity=_capacity(data.default_capacity, DEFAULT_CAPACITY) or DEFAULT_CAPACITY,
        )
        return Redirect(path="/teams", status_code=303)

    @get("/filter", name="teams_filter")
    async def filter_fragment(self, request: Request[Any, Any, Any]) -> Template:
        """The inbox's team filter, loaded into its filter form."""
        principal = principal_of(request)
        context = page_context(
            request, "inbox", teams=await teams.list_teams(principal), chosen=request.query_params.get("team", "")
        )
        return Template(template_name="teams_filter.html", context=context)

    @post("/{team_id:str}", name="team_update")
    async def update(
        self, request: Request[Any, Any, Any], team_id: FromPath[str], data: URLEncodedBody[TeamForm]
    ) -> Redirect:
        """Save a team's name, description, channels, members (in order), auto-assignment and capacity."""
        principal = _admin(request, data)
        oid = teams.parse_team_id(team_id)
        await teams.change_team(
            principal,
            oid,
            name=data.name,
            description=data.description,
            channel_ids=_ids(data.channel_ids),
            auto_assign=bool(data.auto_assign),
            default_capacity=_capacity(data.default_capacity, None),
        )
        await teams.set_team_members(principal, oid, _ids(data.member_ids))
        return Redirect(path=f"/teams#team-{oid}", status_code=303)

    @post("/{team_id:str}/delete", name="team_delete")
    async def remove(
        self, request: Request[Any, Any, Any], team_id: FromPath[str], data: URLEncodedBody[TeamForm]
    ) -> Redirect:
        """Delete a team."""
        principal = _admin(request, data)
        await teams.delete_team(principal, teams.parse_team_id(team_id))
        return Redirect(path="/teams", status_code=303)


class AvailabilityPageController(Controller):
    """The agent's own online/away/offline switch, and an admin's changes to anyone's availability."""

    path = "/availability"
    include_in_schema = False
    exception_handlers = UI_ERRORS

    @get("/switch", name="availability_switch")
    async def switch(self, request: Request[Any, Any, Any]) -> Template:
        """The switch for the inbox header; loading it (every minute) counts as the agent's activity."""
        principal = principal_of(request)
        me = user_id_of(principal)
        if me is None:
            raise PermissionDeniedException("Only a signed-in member has an availability")
        now = now_of(request.app.state)
        mine = None  # a marketer or viewer is never assigned conversations: no switch
        if principal.can(Permission.WORK_INBOX):
            await availability.note_activity(principal.scope, me, now)
            mine = await availability.find_availability(principal.scope, me)
        context = page_context(
            request,
            "inbox",
            mine=mine,
            statuses=STATUSES,
            available=mine is not None and availability.is_available(mine, now),
            is_admin=principal.can(Permission.MANAGE_MEMBERS),
            csrf_token=signed_in_of(request).csrf_token,
        )
        fragment = request.headers.get("hx-request") == "true"  # without htmx, a page of its own
        return Template(
            template_name="availability_switch.html" if fragment else "availability_page.html", context=context
        )

    @post("/me", name="availability_me")
    async def set_mine(self, request: Request[Any, Any, Any], data: URLEncodedBody[StatusForm]) -> Redirect:
        """Go online, away or offline."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        me = user_id_of(principal)
        if me is None or data.status not in STATUSES:
            raise InboxInputError(f"Choose a status: {', '.join(STATUSES)}")
        await availability.set_availability(principal, me, now_of(request.app.state), status=AgentStatus(data.status))
        return Redirect(path=safe_next(data.next or "/inbox"), status_code=303)

    @post("/{user_id:str}", name="availability_member")
    async def set_member(
        self, request: Request[Any, Any, Any], user_id: FromPath[str], data: URLEncodedBody[StatusForm]
    ) -> Redirect:
        """An admin sets a member's status and capacity (empty: the team's default)."""
        principal = _admin(request, data)
        if not PydanticObjectId.is_valid(user_id):
            raise NotInWorkspace(f"No member {user_id} in this workspace")
        status = AgentStatus(data.status) if data.status in STATUSES else None
        capacity = _capacity(data.capacity, None)
        await availability.set_availability(
            principal,
            PydanticObjectId(user_id),
            now_of(request.app.state),
            status=status,
            capacity=capacity,
            clear_capacity=capacity is None,
        )
        return Redirect(path="/teams#availability", status_code=303)

"""`scrm teams`: list teams, add one, and set its members from the command line (`--json` for machines).

The commands act for no user: they have an owner's reach in the workspace named and call the same service as
the API and the teams page (`scrm.inbox.teams`), so the same rules apply.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from scrm.auth.accounts import AccountError, find_user, get_workspace
from scrm.auth.roles import Principal
from scrm.command_context import load_settings, run_with_database, start_embedded
from scrm.embedded import EmbeddedMongo
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.teams import create_team, list_teams, set_team_members
from scrm.models import DEFAULT_CAPACITY, NotInWorkspace, Role, Team
from scrm.models.base import utcnow
from scrm.settings import Settings

T = TypeVar("T")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
WORKSPACE_OPTION = click.option("--workspace", required=True, help="The workspace's name.")


class TeamCommandError(click.ClickException):
    """A refused team command: the message says why, the exit status is 2 and nothing was changed."""

    exit_code = 2


def _run(workspace: str, work: Callable[[Principal], Awaitable[T]]) -> T:
    """Run `work` as the owner of the workspace named, mapping refusals to exit status 2."""
    settings = load_settings()
    if settings.embedded:
        start_embedded(EmbeddedMongo(settings.home, settings.mongod_port))

    async def session(_: Settings) -> T:
        found = await get_workspace(workspace)
        assert found.id is not None
        return await work(Principal(found.id, Role.OWNER, "cli"))

    try:
        return run_with_database(session, settings)
    except DuplicateKeyError:
        raise TeamCommandError("Another team of this workspace already has this name") from None
    except (AccountError, InboxInputError, NotInWorkspace) as exc:
        raise TeamCommandError(str(exc)) from None


def _view(team: Team) -> dict[str, Any]:
    return {
        "id": str(team.id),
        "name": team.name,
        "members": [str(m) for m in team.member_ids],
        "channels": [str(c) for c in team.channel_ids],
        "auto_assign": team.auto_assign,
        "default_capacity": team.default_capacity,
    }


@click.group()
def teams() -> None:
    """Teams: who handles which channels, with round-robin auto-assignment."""


@teams.command("list")
@WORKSPACE_OPTION
@JSON_OPTION
def teams_list(workspace: str, as_json: bool) -> None:
    """The workspace's teams by name."""
    found = _run(workspace, list_teams)
    if as_json:
        click.echo(json.dumps({"teams": [_view(t) for t in found]}))
        return
    for team in found:
        auto = "auto-assign" if team.auto_assign else "manual"
        click.echo(f"{team.id}  {team.name}  {len(team.member_ids)} members  {len(team.channel_ids)} channels  {auto}")


@teams.command("add")
@click.argument("name")
@WORKSPACE_OPTION
@click.option("--channel", "channels", multiple=True, help="The id of a channel the team handles (repeatable).")
@click.option("--auto-assign", is_flag=True, help="Give new conversations to the members in turn.")
@click.option("--capacity", type=click.IntRange(1, 500), default=DEFAULT_CAPACITY, show_default=True,
              help="Open conversations per member, unless set for the member.")  # fmt: skip
@JSON_OPTION
def teams_add(
    name: str, workspace: str, channels: tuple[str, ...], auto_assign: bool, capacity: int, as_json: bool
) -> None:
    """Create the team NAME (without members: see `scrm teams members`)."""
    if any(not PydanticObjectId.is_valid(c) for c in channels):
        raise TeamCommandError("--channel takes a channel id (see `scrm channels list`)")

    async def work(principal: Principal) -> Team:
        ids = [PydanticObjectId(c) for c in channels]
        return await create_team(
            principal, name, utcnow(), channel_ids=ids, auto_assign=auto_assign, default_capacity=capacity
        )

    team = _run(workspace, work)
    click.echo(json.dumps(_view(team)) if as_json else f"Team {team.name} created ({team.id}).")


@teams.command("members")
@click.argument("team_name")
@click.argument("emails", nargs=-1)
@WORKSPACE_OPTION
@JSON_OPTION
def teams_members(team_name: str, emails: tuple[str, ...], workspace: str, as_json: bool) -> None:
    """Make the members with these EMAILS (in this order, the rotation's) the team TEAM_NAME; none empties it."""

    async def work(principal: Principal) -> Team:
        team = await principal.scope.find_one(Team, {"name": " ".join(team_name.split())})
        if team is None or team.id is None:
            raise InboxInputError(f"No team named {team_name!r} in this workspace")
        ids = []
        for email in emails:
            user = await find_user(email)
            if user is None or user.id is None:
                raise InboxInputError(f"No user {email}")
            ids.append(user.id)
        return await set_team_members(principal, team.id, ids)

    team = _run(workspace, work)
    click.echo(json.dumps(_view(team)) if as_json else f"Team {team.name}: {len(team.member_ids)} members.")

"""Teams: groups of members who handle some channels' conversations together.

A team's members and each member's `Membership.team_ids` are kept in step, so an agent reaches the
conversations of their teams as soon as they join one and stops reaching them when they leave. Every change
is an atomic update matched on the team's id *and* the workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from scrm.auth.roles import Principal
from scrm.inbox.availability import WORKING_ROLES, check_capacity
from scrm.inbox.conversations import InboxInputError, reach
from scrm.models import DEFAULT_CAPACITY, Channel, Conversation, Membership, NotInWorkspace, Team, User

MAX_NAME = 60
MAX_DESCRIPTION = 500
MAX_MEMBERS = 200


def clean_name(name: str) -> str:
    """A team name as stored: trimmed, inner spaces collapsed; InboxInputError when empty or too long."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise InboxInputError(f"A team name has 1 to {MAX_NAME} characters")
    return cleaned


def _clean_description(description: str) -> str:
    cleaned = description.strip()
    if len(cleaned) > MAX_DESCRIPTION:
        raise InboxInputError(f"A team description has at most {MAX_DESCRIPTION} characters")
    return cleaned


async def _check_channels(principal: Principal, channel_ids: Sequence[PydanticObjectId]) -> list[PydanticObjectId]:
    wanted = list(dict.fromkeys(channel_ids))
    if wanted and await principal.scope.count(Channel, {"_id": {"$in": wanted}}) != len(wanted):
        raise InboxInputError("channel_ids names a channel that is not in this workspace")
    return wanted


def parse_team_id(value: str) -> PydanticObjectId:
    """A team id in a path; one that cannot exist is not found, like another workspace's."""
    if not PydanticObjectId.is_valid(value):
        raise NotInWorkspace(f"No team {value} in this workspace")
    return PydanticObjectId(value)


async def list_teams(principal: Principal) -> list[Team]:
    """The workspace's teams by name."""
    return await principal.scope.find(Team).sort("+name").to_list()


async def get_team(principal: Principal, team_id: PydanticObjectId) -> Team:
    """One team of the workspace; NotInWorkspace otherwise."""
    return await principal.scope.get(Team, team_id)


async def create_team(
    principal: Principal,
    name: str,
    now: datetime,
    *,
    description: str = "",
    channel_ids: Sequence[PydanticObjectId] = (),
    auto_assign: bool = False,
    default_capacity: int = DEFAULT_CAPACITY,
) -> Team:
    """A new team without members; a name already taken is a DuplicateKeyError (409 in the API)."""
    check_capacity(default_capacity)
    team = Team(
        workspace_id=principal.workspace_id,
        name=clean_name(name),
        description=_clean_description(description),
        channel_ids=await _check_channels(principal, channel_ids),
        auto_assign=auto_assign,
        default_capacity=default_capacity,
        created_at=now,
    )
    return await principal.scope.insert(team)


async def change_team(
    principal: Principal,
    team_id: PydanticObjectId,
    *,
    name: str | None = None,
    description: str | None = None,
    channel_ids: Sequence[PydanticObjectId] | None = None,
    auto_assign: bool | None = None,
    default_capacity: int | None = None,
) -> Team:
    """Rename a team or change what it handles and how; arguments left None keep their value."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = clean_name(name)
    if description is not None:
        changes["description"] = _clean_description(description)
    if channel_ids is not None:
        changes["channel_ids"] = await _check_channels(principal, channel_ids)
    if auto_assign is not None:
        changes["auto_assign"] = auto_assign
    if default_capacity is not None:
        check_capacity(default_capacity)
        changes["default_capacity"] = default_capacity
    if not changes:
        return await get_team(principal, team_id)
    return await _update(principal, team_id, {"$set": changes})


async def _update(principal: Principal, team_id: PydanticObjectId, update: dict[str, Any]) -> Team:
    found = await Team.get_pymongo_collection().find_one_and_update(
        {"_id": team_id, "workspace_id": principal.workspace_id}, update, return_document=ReturnDocument.AFTER
    )
    if found is None:
        raise NotInWorkspace(f"No team {team_id} in this workspace")
    team: Team = Team.model_validate(found)
    return team


async def delete_team(principal: Principal, team_id: PydanticObjectId) -> None:
    """Remove a team: its members leave it, and its conversations keep their assignee but no longer its name."""
    team = await get_team(principal, team_id)
    await principal.scope.find(Membership, {"team_ids": team_id}).update({"$pull": {"team_ids": team_id}})
    await principal.scope.find(Conversation, {"team_id": team_id}).update({"$set": {"team_id": None}})
    await principal.scope.delete(team)


async def add_team_member(principal: Principal, team_id: PydanticObjectId, user_id: PydanticObjectId) -> Team:
    """Put a member who works the inbox (owner, admin or agent) in a team; adding them again changes nothing."""
    await get_team(principal, team_id)
    member = await principal.scope.find_one(Membership, {"user_id": user_id})
    if member is None or member.role not in WORKING_ROLES:
        raise InboxInputError(f"User {user_id} is not a member of this workspace who works the inbox")
    team = await _update(principal, team_id, {"$addToSet": {"member_ids": user_id}})
    if len(team.member_ids) > MAX_MEMBERS:
        await _update(principal, team_id, {"$pull": {"member_ids": user_id}})
        raise InboxInputError(f"A team has at most {MAX_MEMBERS} members")
    await principal.scope.find(Membership, {"user_id": user_id}).update({"$addToSet": {"team_ids": team_id}})
    return team


async def remove_team_member(principal: Principal, team_id: PydanticObjectId, user_id: PydanticObjectId) -> Team:
    """Take a member out of a team (nothing happens when they are not in it); their assignments stay."""
    team = await _update(principal, team_id, {"$pull": {"member_ids": user_id}})
    await principal.scope.find(Membership, {"user_id": user_id}).update({"$pull": {"team_ids": team_id}})
    return team


async def set_team_members(
    principal: Principal, team_id: PydanticObjectId, user_ids: Sequence[PydanticObjectId]
) -> Team:
    """Make these members (in this order, the rotation's) the team's, adding and removing as needed."""
    wanted = list(dict.fromkeys(user_ids))
    if len(wanted) > MAX_MEMBERS:
        raise InboxInputError(f"A team has at most {MAX_MEMBERS} members")
    team = await get_team(principal, team_id)
    for user_id in wanted:
        if user_id not in team.member_ids:
            await add_team_member(principal, team_id, user_id)
    for user_id in team.member_ids:
        if user_id not in wanted:
            await remove_team_member(principal, team_id, user_id)
    return await _update(principal, team_id, {"$set": {"member_ids": wanted}})


async def members_of(principal: Principal, team: Team) -> list[User]:
    """The users of a team, in the rotation's order (a user who is gone is left out)."""
    users = {u.id: u for u in await User.find({"_id": {"$in": team.member_ids}}).to_list()}
    return [users[i] for i in team.member_ids if i in users]


async def route_to_team(
    principal: Principal, conversation_id: PydanticObjectId, team_id: PydanticObjectId | None
) -> Conversation:
    """Put a conversation the principal may see in a team's queue (None: in no team); its assignee stays."""
    if team_id is not None and await principal.scope.count(Team, {"_id": team_id}) == 0:
        raise InboxInputError(f"Team {team_id} is not a team of this workspace")
    target = {"_id": conversation_id, "workspace_id": principal.workspace_id, **reach(principal)}
    found = await Conversation.get_pymongo_collection().find_one_and_update(
        target, {"$set": {"team_id": team_id}}, return_document=ReturnDocument.AFTER
    )
    if found is None:
        raise NotInWorkspace(f"No conversation {conversation_id} in this workspace")
    conversation: Conversation = Conversation.model_validate(found)
    return conversation


def parse_team_ref(value: str | None) -> PydanticObjectId | None:
    """A team given in a request body: a team id, or no team for None or an empty value."""
    if not value:
        return None
    if not PydanticObjectId.is_valid(value):
        raise InboxInputError(f"Invalid team id {value!r}")
    return PydanticObjectId(value)

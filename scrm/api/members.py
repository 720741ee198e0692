"""`/api/v1/members`: who belongs to the workspace with which role; admins and owners change roles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, delete, get, patch
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import FromPath, JSONBody

from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth.members import MemberChangeRefused, find_user_of, list_members, remove_member, update_member
from scrm.auth.roles import Permission, Principal
from scrm.models import Membership, Role, User

ObjectIdText = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{24}$", description="An object id")]


class MemberPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A new role, and for agents the channels they work in."""

    role: Role | msgspec.UnsetType = msgspec.UNSET
    channel_ids: Annotated[list[ObjectIdText], msgspec.Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET


class MemberOut(msgspec.Struct):
    """A member as the API shows it."""

    id: str
    user_id: str
    email: str
    display_name: str
    role: str
    channel_ids: list[str]
    since: datetime


class MemberList(msgspec.Struct):
    """Every member of the workspace."""

    items: list[MemberOut]


def member_out(member: Membership, user: User) -> MemberOut:
    """The API view of a membership."""
    return MemberOut(
        id=str(member.id),
        user_id=str(member.user_id),
        email=user.email,
        display_name=user.display_name,
        role=member.role.value,
        channel_ids=[str(c) for c in member.channel_ids],
        since=member.created_at,
    )


async def change_member(principal: Principal, member_id: str, data: MemberPatch, now: datetime) -> MemberOut:
    """Apply a MemberPatch, turning refusals into 403 and bad channel ids into 400."""
    role = None if isinstance(data.role, msgspec.UnsetType) else data.role
    channels = (
        None if isinstance(data.channel_ids, msgspec.UnsetType) else [PydanticObjectId(c) for c in data.channel_ids]
    )
    try:
        member = await update_member(principal, parse_id(member_id, "member"), now, role=role, channel_ids=channels)
    except MemberChangeRefused as exc:
        raise PermissionDeniedException(str(exc)) from None
    except ValueError as exc:
        raise ValidationException(str(exc)) from None
    return member_out(member, await find_user_of(member))


class MembersController(Controller):
    """The workspace's members and their roles."""

    path = "/members"
    tags = ("members",)
    guards = (requires(Permission.MANAGE_MEMBERS),)

    @get("/", summary="List members")
    async def list(self, principal: Caller) -> MemberList:
        """Every member with their role."""
        return MemberList(items=[member_out(m, u) for m, u in await list_members(principal)])

    @get("/{member_id:str}", summary="One member")
    async def get(self, principal: Caller, member_id: FromPath[str]) -> MemberOut:
        """One membership of this workspace."""
        member = await principal.scope.get(Membership, parse_id(member_id, "member"))
        return member_out(member, await find_user_of(member))

    @patch("/{member_id:str}", summary="Change a member's role or channels")
    async def update(
        self, principal: Caller, member_id: FromPath[str], data: JSONBody[MemberPatch], now: Now
    ) -> MemberOut:
        """Change the role (recorded in the audit log) or an agent's channels."""
        return await change_member(principal, member_id, data, now)

    @delete("/{member_id:str}", summary="Remove a member")
    async def remove(self, principal: Caller, member_id: FromPath[str], now: Now) -> None:
        """Take the user out of this workspace; the last owner stays."""
        try:
            await remove_member(principal, parse_id(member_id, "member"), now)
        except MemberChangeRefused as exc:
            raise PermissionDeniedException(str(exc)) from None

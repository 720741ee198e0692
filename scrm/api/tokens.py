"""`/api/v1/tokens`: list, create (the token is shown once) and revoke API tokens; admins and owners only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, delete, get, post
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import FromPath, JSONBody

from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission, Principal, can_grant
from scrm.auth.tokens import create_token, list_tokens, revoke_token
from scrm.models import ApiToken, Channel, Role

ObjectIdText = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{24}$", description="An object id")]


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    """A token to create: a label, a role, and for agents the channels and teams it may see."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    role: Role
    channel_ids: Annotated[list[ObjectIdText], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)
    team_ids: Annotated[list[ObjectIdText], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)


class TokenOut(msgspec.Struct):
    """A token as listed: never its value, only its first characters."""

    id: str
    name: str
    role: str
    prefix: str
    channel_ids: list[str]
    team_ids: list[str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """A new token with its value: store it now, it is not shown again."""

    token: str


class TokenList(msgspec.Struct):
    """Every token of the workspace."""

    items: list[TokenOut]


def token_out(token: ApiToken) -> TokenOut:
    """The API view of a stored token."""
    return TokenOut(
        id=str(token.id),
        name=token.name,
        role=token.role.value,
        prefix=token.prefix,
        channel_ids=[str(c) for c in token.channel_ids],
        team_ids=[str(t) for t in token.team_ids],
        created_at=token.created_at,
        created_by=token.created_by,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


async def issue_token(principal: Principal, data: TokenIn, now: datetime) -> TokenCreated:
    """Create a token no more powerful than its creator, limited to channels of this workspace."""
    if not can_grant(principal.role, data.role):
        raise PermissionDeniedException(f"The {principal.role.value} role may not create {data.role.value} tokens.")
    channel_ids = [PydanticObjectId(c) for c in data.channel_ids]
    if await principal.scope.count(Channel, {"_id": {"$in": channel_ids}}) != len(set(channel_ids)):
        raise ValidationException("channel_ids names a channel that is not in this workspace")
    team_ids = [PydanticObjectId(t) for t in data.team_ids]
    token, plain = await create_token(
        principal.scope, data.role, data.name, now, actor=principal.actor, channel_ids=channel_ids, team_ids=team_ids
    )
    return TokenCreated(**msgspec.structs.asdict(token_out(token)), token=plain)


class TokensController(Controller):
    """The workspace's API tokens."""

    path = "/tokens"
    tags = ("tokens",)
    guards = (requires(Permission.MANAGE_TOKENS),)

    @get("/", summary="List API tokens")
    async def list(self, principal: Caller) -> TokenList:
        """Every token of the workspace, revoked ones included, without their values."""
        return TokenList(items=[token_out(t) for t in await list_tokens(principal.scope)])

    @get("/{token_id:str}", summary="One API token")
    async def get(self, principal: Caller, token_id: FromPath[str]) -> TokenOut:
        """One token of the workspace (404 for any other)."""
        return token_out(await principal.scope.get(ApiToken, parse_id(token_id, "token")))

    @post("/", summary="Create an API token")
    async def create(self, principal: Caller, data: JSONBody[TokenIn], now: Now) -> TokenCreated:
        """A new token; its value is in this answer only."""
        return await issue_token(principal, data, now)

    @delete("/{token_id:str}", summary="Revoke an API token")
    async def revoke(self, principal: Caller, token_id: FromPath[str], now: Now) -> None:
        """Revoke a token at once; it keeps its place in the list with `revoked_at` set."""
        await revoke_token(principal.scope, parse_id(token_id, "token"), now, actor=principal.actor)

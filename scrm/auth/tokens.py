"""API tokens: create (shown once), list, revoke, and authenticate a bearer token into a Principal."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.auth.roles import Principal
from scrm.models import ApiToken, AuditAction, Role, WorkspaceScope, across_workspaces

PREFIX = "scrm_"
SHOWN_PREFIX = 12
LAST_USED_PRECISION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (tokens are 256 random bits, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(
    scope: WorkspaceScope,
    role: Role,
    name: str,
    now: datetime,
    *,
    actor: str,
    channel_ids: Iterable[PydanticObjectId] = (),
    team_ids: Iterable[PydanticObjectId] = (),
) -> tuple[ApiToken, str]:
    """A new token of this workspace with this role; returns it with its plain value, which is never kept."""
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        workspace_id=scope.workspace_id,
        name=name,
        role=role,
        token_hash=token_hash(plain),
        prefix=plain[:SHOWN_PREFIX],
        channel_ids=list(channel_ids),
        team_ids=list(team_ids),
        created_by=actor,
        created_at=now,
    )
    await scope.insert(token)
    details = {"name": name, "role": role.value}
    await audit.record(
        AuditAction.TOKEN_CREATED,
        actor,
        now,
        workspace_id=scope.workspace_id,
        target=f"token:{token.id}",
        details=details,
    )
    return token, plain


async def list_tokens(scope: WorkspaceScope) -> list[ApiToken]:
    """The workspace's tokens, revoked ones included, oldest first."""
    return await scope.find(ApiToken).sort("+created_at").to_list()


async def revoke_token(scope: WorkspaceScope, token_id: PydanticObjectId, now: datetime, *, actor: str) -> ApiToken:
    """Revoke one token of this workspace (NotInWorkspace when it has none); revoking twice changes nothing."""
    token = await scope.get(ApiToken, token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        await scope.replace(token)
        await audit.record(
            AuditAction.TOKEN_REVOKED,
            actor,
            now,
            workspace_id=scope.workspace_id,
            target=f"token:{token.id}",
            details={"name": token.name},
        )
    return token


async def find_by_prefix(scope: WorkspaceScope, prefix: str) -> ApiToken | None:
    """The workspace's token whose shown prefix (or id) is `prefix`, or None."""
    by_prefix = await scope.find_one(ApiToken, {"prefix": prefix})
    if by_prefix is not None or not PydanticObjectId.is_valid(prefix):
        return by_prefix
    return await scope.find_one(ApiToken, {"_id": PydanticObjectId(prefix)})


async def authenticate(plain: str, now: datetime) -> Principal | None:
    """The principal of a live token, noting when it was last used; None for an unknown or revoked token."""
    if not plain.startswith(PREFIX):
        return None
    with across_workspaces("a bearer token is looked up by its hash before its workspace is known"):
        token = await ApiToken.find_one({"token_hash": token_hash(plain)})
    if token is None or token.id is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        await (
            WorkspaceScope(token.workspace_id).find(ApiToken, {"_id": token.id}).update({"$set": {"last_used_at": now}})
        )
    return Principal(
        workspace_id=token.workspace_id,
        role=token.role,
        actor=f"token:{token.id}",
        channel_ids=frozenset(token.channel_ids),
        team_ids=frozenset(token.team_ids),
    )

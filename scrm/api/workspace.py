"""`/api/v1/workspace`: the workspace the caller works in, and the caller's role there."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get

from scrm.api.security import Caller, requires
from scrm.auth.roles import Permission, Principal
from scrm.models import Workspace


class WorkspaceOut(msgspec.Struct):
    """The current workspace as the API shows it."""

    id: str
    name: str
    display_name: str
    timezone: str
    locale: str
    created_at: datetime
    role: str


async def get_current_workspace(principal: Principal) -> WorkspaceOut:
    """The principal's workspace (it always exists: tokens and memberships are removed with it)."""
    workspace = await Workspace.get(principal.workspace_id)
    if workspace is None:
        raise LookupError(f"Workspace {principal.workspace_id} is gone")
    return WorkspaceOut(
        id=str(workspace.id),
        name=workspace.name,
        display_name=workspace.display_name,
        timezone=workspace.timezone,
        locale=workspace.locale,
        created_at=workspace.created_at,
        role=principal.role.value,
    )


class WorkspaceController(Controller):
    """The caller's workspace."""

    path = "/workspace"
    tags = ("workspace",)

    @get("/", guards=[requires(Permission.READ_WORKSPACE)], summary="The current workspace")
    async def current(self, principal: Caller) -> WorkspaceOut:
        """The workspace of the token, with the token's role in it."""
        return await get_current_workspace(principal)

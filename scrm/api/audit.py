"""`/api/v1/audit`: the workspace's audit log, newest first, for admins and owners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get

from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, next_cursor, parse_cursor
from scrm.api.security import Caller, requires
from scrm.auth.audit import list_entries
from scrm.auth.roles import Permission, Principal


class AuditEntryOut(msgspec.Struct):
    """One recorded action."""

    id: str
    at: datetime
    action: str
    actor: str
    target: str
    ip: str
    details: dict[str, Any]


class AuditPage(msgspec.Struct):
    """A page of the audit log and the cursor of the next one (null on the last page)."""

    items: list[AuditEntryOut]
    next_cursor: str | None


async def audit_page(principal: Principal, cursor: str | None, limit: int) -> AuditPage:
    """One page of the principal's workspace's audit log."""
    entries = await list_entries(principal.workspace_id, before=parse_cursor(cursor), limit=limit + 1)
    items = [
        AuditEntryOut(
            id=str(e.id), at=e.at, action=e.action.value, actor=e.actor, target=e.target, ip=e.ip, details=e.details
        )
        for e in entries[:limit]
    ]
    return AuditPage(items=items, next_cursor=next_cursor([e.id for e in entries], limit))


class AuditController(Controller):
    """Who did what and when."""

    path = "/audit"
    tags = ("audit",)

    @get("/", guards=[requires(Permission.READ_AUDIT)], summary="List the audit log")
    async def list(self, principal: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> AuditPage:
        """The workspace's audit entries, newest first."""
        return await audit_page(principal, cursor, limit)

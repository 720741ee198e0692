"""Record security-relevant actions in the append-only audit log, and list a workspace's entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.models import AuditAction, AuditEntry


async def record(
    action: AuditAction,
    actor: str,
    now: datetime,
    *,
    workspace_id: PydanticObjectId | None,
    target: str = "",
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry: `actor` (`user:<id>`, `token:<id>`, `cli`) did `action` to `target` at `now`."""
    entry = AuditEntry(
        workspace_id=workspace_id, at=now, action=action, actor=actor, target=target, ip=ip, details=details or {}
    )
    await entry.insert()
    return entry


async def list_entries(
    workspace_id: PydanticObjectId, *, before: PydanticObjectId | None, limit: int
) -> list[AuditEntry]:
    """One workspace's entries, newest first, older than the entry `before` when given."""
    query: dict[str, Any] = {"workspace_id": workspace_id}
    if before is not None:
        query["_id"] = {"$lt": before}
    return await AuditEntry.find(query).sort("-_id").limit(limit).to_list()

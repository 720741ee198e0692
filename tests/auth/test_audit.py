"""The audit log: append-only, listed by admins newest first, recording role changes."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from scrm.auth import audit
from scrm.auth.accounts import change_role
from scrm.models import AppendOnlyError, AuditAction, AuditEntry, Role
from tests.api.world import World


async def test_entries_cannot_be_changed_or_deleted(world: World, now: datetime) -> None:
    entry = await audit.record(AuditAction.DATA_EXPORTED, "user:1", now, workspace_id=world.a.workspace.id)
    entry.actor = "someone else"
    attempts = (entry.save, entry.replace, entry.delete, entry.update, entry.set)
    for attempt in attempts:
        with pytest.raises(AppendOnlyError):
            attempt({"$set": {"actor": "x"}})
    stored = await AuditEntry.get(entry.id)
    assert stored is not None and stored.actor == "user:1"


async def test_admins_list_their_workspace_newest_first(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    for n in range(3):
        await audit.record(
            AuditAction.DATA_EXPORTED, "test", now, workspace_id=world.a.workspace.id, target=f"export {n}"
        )
    first = (await api.get("/api/v1/audit", params={"limit": 2}, headers=world.a.bearer(Role.ADMIN))).json()
    assert [e["target"] for e in first["items"]] == ["export 2", "export 1"]
    rest = await api.get("/api/v1/audit", params={"cursor": first["next_cursor"]}, headers=world.a.bearer(Role.ADMIN))
    assert rest.json()["items"][0]["target"] == "export 0"
    assert all("bravo" not in e["details"].get("name", "") for e in rest.json()["items"])


async def test_a_role_change_is_recorded(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    from scrm.auth.accounts import add_member, create_user

    user = await create_user("li@example.com", "a long password", now)
    assert user.id is not None
    await add_member(world.a.scope.workspace_id, user, Role.AGENT, now, actor="test")
    await change_role(world.a.scope, user.id, Role.MARKETER, now, actor="user:admin")
    entries = (await api.get("/api/v1/audit", headers=world.a.bearer(Role.OWNER))).json()["items"]
    change = next(e for e in entries if e["action"] == "member.role_changed")
    assert change["details"] == {"from": "agent", "to": "marketer"} and change["actor"] == "user:admin"

"""Members through the API: roles change with an audit entry, and a workspace always keeps an owner."""

from __future__ import annotations

from datetime import datetime

import httpx

from scrm.auth.accounts import add_member, create_user
from scrm.models import AuditAction, AuditEntry, Membership, Role
from tests.api.world import World


async def make_member(world: World, email: str, role: Role, now: datetime) -> str:
    """A user with `role` in workspace a; returns the membership id."""
    user = await create_user(email, "a long enough password", now)
    return str((await add_member(world.a.scope.workspace_id, user, role, now, actor="test")).id)


async def test_an_admin_changes_a_role_and_it_is_audited(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    member_id = await make_member(world, "li@example.com", Role.AGENT, now)
    channel = str(world.a.agent_channel.id if world.a.agent_channel else "")
    body = {"role": "marketer", "channel_ids": [channel]}
    changed = await api.patch(f"/api/v1/members/{member_id}", json=body, headers=world.a.bearer(Role.ADMIN))
    assert changed.status_code == 200 and changed.json()["role"] == "marketer"
    assert changed.json()["channel_ids"] == [channel] and changed.json()["email"] == "li@example.com"
    entry = await AuditEntry.find_one({"action": AuditAction.ROLE_CHANGED.value})
    assert entry is not None and entry.details == {"from": "agent", "to": "marketer"}
    assert entry.workspace_id == world.a.workspace.id


async def test_an_admin_cannot_touch_an_owner_or_make_one(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    owner_id = await make_member(world, "boss@example.com", Role.OWNER, now)
    agent_id = await make_member(world, "li@example.com", Role.AGENT, now)
    admin = world.a.bearer(Role.ADMIN)
    assert (await api.patch(f"/api/v1/members/{owner_id}", json={"role": "viewer"}, headers=admin)).status_code == 403
    assert (await api.patch(f"/api/v1/members/{agent_id}", json={"role": "owner"}, headers=admin)).status_code == 403
    assert (await api.delete(f"/api/v1/members/{owner_id}", headers=admin)).status_code == 403


async def test_the_last_owner_stays(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    owner_id = await make_member(world, "boss@example.com", Role.OWNER, now)
    owner = world.a.bearer(Role.OWNER)
    refused = await api.patch(f"/api/v1/members/{owner_id}", json={"role": "admin"}, headers=owner)
    assert refused.status_code == 400 and "at least one owner" in refused.json()["detail"]
    assert (await api.delete(f"/api/v1/members/{owner_id}", headers=owner)).status_code == 400
    second = await make_member(world, "partner@example.com", Role.OWNER, now)
    assert (await api.delete(f"/api/v1/members/{owner_id}", headers=owner)).status_code == 204
    assert await world.a.scope.count(Membership, {"role": "owner"}) == 1
    assert second in {m["id"] for m in (await api.get("/api/v1/members", headers=owner)).json()["items"]}

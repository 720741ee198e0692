"""API tokens: shown once, stored hashed, revocable, last-used time, and a rate limit per token."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from scrm.app import create_app
from scrm.auth.tokens import token_hash
from scrm.models import ApiToken, AuditAction, AuditEntry, Role
from scrm.settings import Settings
from tests.api.world import World
from tests.conftest import serving


async def test_a_new_token_is_shown_once_and_stored_hashed(api: httpx.AsyncClient, world: World) -> None:
    created = await api.post(
        "/api/v1/tokens", json={"name": "zapier", "role": "marketer"}, headers=world.a.bearer(Role.ADMIN)
    )
    assert created.status_code == 201
    body = created.json()
    plain = body["token"]
    assert plain.startswith("scrm_") and body["prefix"] == plain[:12]
    raw = await ApiToken.get_pymongo_collection().find_one({"name": "zapier"})
    assert raw is not None and raw["token_hash"] == token_hash(plain) and plain not in str(raw)
    listed = await api.get("/api/v1/tokens", headers=world.a.bearer(Role.ADMIN))
    assert plain not in listed.text and "token" not in listed.json()["items"][0]
    me = await api.get("/api/v1/workspace", headers={"authorization": f"Bearer {plain}"})
    assert me.json()["role"] == "marketer" and me.json()["name"] == world.a.workspace.name


async def test_a_revoked_token_is_refused_at_once(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    created = (
        await api.post("/api/v1/tokens", json={"name": "old", "role": "viewer"}, headers=world.a.bearer(Role.OWNER))
    ).json()
    headers = {"authorization": f"Bearer {created['token']}"}
    assert (await api.get("/api/v1/workspace", headers=headers)).status_code == 200
    assert (await api.delete(f"/api/v1/tokens/{created['id']}", headers=world.a.bearer(Role.OWNER))).status_code == 204
    refused = await api.get("/api/v1/workspace", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    shown = (await api.get(f"/api/v1/tokens/{created['id']}", headers=world.a.bearer(Role.OWNER))).json()
    assert shown["revoked_at"] is not None and shown["last_used_at"] == now.isoformat().replace("+00:00", "Z")
    actions = [e.action for e in await AuditEntry.find({"workspace_id": world.a.workspace.id}).to_list()]
    assert AuditAction.TOKEN_CREATED in actions and AuditAction.TOKEN_REVOKED in actions


async def test_unknown_and_malformed_tokens_get_401(api: httpx.AsyncClient, world: World) -> None:
    for header in ("Bearer scrm_not-a-real-token", "Bearer", "Basic dXNlcjpwYXNz", world.a.tokens[Role.OWNER]):
        response = await api.get("/api/v1/workspace", headers={"authorization": header})
        assert response.status_code == 401, header
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_no_one_makes_a_token_stronger_than_themselves(api: httpx.AsyncClient, world: World) -> None:
    refused = await api.post("/api/v1/tokens", json={"name": "x", "role": "owner"}, headers=world.a.bearer(Role.ADMIN))
    assert refused.status_code == 403
    other = await api.post(
        "/api/v1/tokens",
        json={
            "name": "x",
            "role": "agent",
            "channel_ids": [str(world.b.agent_channel.id if world.b.agent_channel else "")],
        },
        headers=world.a.bearer(Role.ADMIN),
    )
    assert other.status_code == 400 and "not in this workspace" in other.text


async def test_each_token_has_its_own_rate_limit(keyed_settings: Settings, world: World, now: datetime) -> None:
    app = create_app(keyed_settings)
    app.state.clock = lambda: now
    app.state.api_rate_limit = (3, timedelta(minutes=1))
    async with serving(app) as api:
        for remaining in (2, 1, 0):
            response = await api.get("/api/v1/workspace", headers=world.a.bearer(Role.VIEWER))
            assert response.status_code == 200 and response.headers["ratelimit-remaining"] == str(remaining)
        limited = await api.get("/api/v1/workspace", headers=world.a.bearer(Role.VIEWER))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "Rate limit" in limited.json()["detail"]
        assert (await api.get("/api/v1/workspace", headers=world.a.bearer(Role.AGENT))).status_code == 200
        app.state.clock = lambda: now + timedelta(minutes=1)
        assert (await api.get("/api/v1/workspace", headers=world.a.bearer(Role.VIEWER))).status_code == 200

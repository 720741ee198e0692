"""For every `/api/v1` resource: no token is 401, another workspace is 404, a viewer cannot write, and an agent
sees only their scope — with every MongoDB query watched for a missing workspace filter."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from litestar import Litestar

from scrm.app import create_app
from scrm.models import Role
from scrm.settings import Settings
from tests.api.resources import RESOURCES, Resource
from tests.api.scope_guard import ScopeGuard
from tests.api.world import Side, World

Operation = tuple[str, str, dict[str, Any] | None]
NEVER_STORED = "0123456789abcdef01234567"


@pytest.fixture(params=RESOURCES, ids=[r.path.removeprefix("/api/v1/") for r in RESOURCES])
def resource(request: pytest.FixtureRequest) -> Resource:
    """Each API resource in turn."""
    described: Resource = request.param
    return described


def reads(resource: Resource, item: str | None) -> list[Operation]:
    """The read operations of a resource (its list or object, and one item)."""
    found: list[Operation] = [("GET", resource.path, None)]
    if item is not None:
        found.append(("GET", f"{resource.path}/{item}", None))
    return found


def writes(resource: Resource, item: str | None) -> list[Operation]:
    """The write operations of a resource on one item."""
    found: list[Operation] = []
    if resource.create is not None:
        found.append(("POST", resource.path, resource.create))
    if resource.update is not None and item is not None:
        found.append(("PATCH", f"{resource.path}/{item}", resource.update))
    if resource.delete and item is not None:
        found.append(("DELETE", f"{resource.path}/{item}", None))
    return found


async def call(api: httpx.AsyncClient, operation: Operation, headers: dict[str, str] | None = None) -> httpx.Response:
    """Send one operation; never a server error."""
    method, url, body = operation
    response = await api.request(method, url, json=body, headers=headers or {})
    assert response.status_code < 500, f"{method} {url}: {response.status_code} {response.text}"
    return response


async def seed(resource: Resource, side: Side, reach: str = "agent") -> str | None:
    """An item of the resource in the side's workspace (None for a singleton)."""
    return await resource.seed(side, reach) if resource.seed else None  # type: ignore[arg-type]


def ids_in(response: httpx.Response) -> set[str]:
    """Every `id` a list answer (or a single object) names."""
    body = response.json()
    return {item["id"] for item in body.get("items", [body])}


async def test_without_a_token_every_operation_is_401(api: httpx.AsyncClient, world: World, resource: Resource) -> None:
    item = await seed(resource, world.a)
    for operation in reads(resource, item) + writes(resource, item):
        response = await call(api, operation)
        assert response.status_code == 401, operation
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_another_workspace_is_invisible(
    api: httpx.AsyncClient, world: World, resource: Resource, scope_guard: ScopeGuard
) -> None:
    theirs = await seed(resource, world.b)
    ours = await seed(resource, world.a)
    owner_b = world.b.bearer(Role.OWNER)
    before = (await call(api, ("GET", f"{resource.path}/{theirs}" if theirs else resource.path, None), owner_b)).json()
    owner_a = world.a.bearer(Role.OWNER)
    with scope_guard.watching() as unscoped:
        listed = await call(api, ("GET", resource.path, None), owner_a)
        assert listed.status_code == 200
        if theirs is not None:
            assert theirs not in ids_in(listed) and ours in ids_in(listed)
            for operation in reads(resource, theirs)[1:] + writes(resource, theirs):
                if operation[0] == "POST":
                    continue
                response = await call(api, operation, world.a.bearer(Role.OWNER))
                assert response.status_code == 404, operation
                never = await call(
                    api, (operation[0], operation[1].replace(theirs, NEVER_STORED), operation[2]), owner_a
                )
                assert response.json() == json.loads(never.text.replace(NEVER_STORED, theirs)), "no hint it exists"
        else:
            assert world.b.workspace.name not in listed.text and str(world.b.workspace.id) not in listed.text
    assert unscoped == []
    after = (await call(api, ("GET", f"{resource.path}/{theirs}" if theirs else resource.path, None), owner_b)).json()
    assert after == before


async def test_a_viewer_cannot_write(api: httpx.AsyncClient, world: World, resource: Resource) -> None:
    item = await seed(resource, world.a)
    operations = writes(resource, item)
    if not operations:
        pytest.skip(f"{resource.path} is read-only")
    for operation in operations:
        response = await call(api, operation, world.a.bearer(Role.VIEWER))
        assert response.status_code == 403, operation
    if item is not None:
        assert (await call(api, reads(resource, item)[1], world.a.bearer(Role.OWNER))).status_code == 200


async def test_each_role_gets_exactly_its_rights(
    api: httpx.AsyncClient, world: World, resource: Resource, scope_guard: ScopeGuard
) -> None:
    with scope_guard.watching() as unscoped:
        for role in Role:
            item = await seed(resource, world.a)
            for operation in reads(resource, item):
                response = await call(api, operation, world.a.bearer(role))
                assert response.status_code == (200 if role in resource.readers else 403), (role, operation)
            for operation in writes(resource, item):
                allowed = resource.may_edit(role) if operation[0] == "PATCH" else role in resource.writers
                response = await call(api, operation, world.a.bearer(role))
                # 409: an earlier role already created an item with the same unique name, so it was allowed
                expected = {200, 201, 204, 409} if allowed else {403}
                assert response.status_code in expected, (role, operation, response.text)
    assert unscoped == []


async def test_an_agent_sees_only_their_channels(
    api: httpx.AsyncClient, world: World, resource: Resource, scope_guard: ScopeGuard
) -> None:
    if not resource.agent_scoped:
        pytest.skip(f"{resource.path} is not limited by an agent's channels")
    inside, outside = await seed(resource, world.a, "agent"), await seed(resource, world.a, "outside")
    agent = world.a.bearer(Role.AGENT)
    with scope_guard.watching() as unscoped:
        listed = ids_in(await call(api, ("GET", resource.path, None), agent))
        assert inside in listed and outside not in listed
        assert (await call(api, ("GET", f"{resource.path}/{inside}", None), agent)).status_code == 200
        assert (await call(api, ("GET", f"{resource.path}/{outside}", None), agent)).status_code == 404
        if resource.update is not None and resource.may_edit(Role.AGENT):
            response = await call(api, ("PATCH", f"{resource.path}/{outside}", resource.update), agent)
            assert response.status_code == 404
    assert unscoped == []


def test_every_api_route_is_described(keyed_settings: Settings) -> None:
    app: Litestar = create_app(keyed_settings)
    described = [r.path for r in RESOURCES]
    api_paths = {route.path for route in app.routes if route.path.startswith("/api/v1/")}
    api_paths -= {p for p in api_paths if p.startswith("/api/v1/schema")}
    undescribed = sorted(p for p in api_paths if not any(p == d or p.startswith(d + "/") for d in described))
    assert undescribed == [], "add a Resource for each to tests/api/resources.py"

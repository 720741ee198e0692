"""Bad input to any write of the API is a 4xx problem with a clear message, never a server error."""

from __future__ import annotations

import httpx
import pytest

from scrm.models import Role
from tests.api.resources import RESOURCES, Resource
from tests.api.world import World

WRITABLE = [r for r in RESOURCES if r.create is not None]


async def targets(resource: Resource, world: World) -> list[tuple[str, str]]:
    """The create and update endpoints of a resource, with an existing item for the update."""
    found = [("POST", resource.path)]
    if resource.update is not None and resource.seed is not None:
        found.append(("PATCH", f"{resource.path}/{await resource.seed(world.a, 'agent')}"))
    return found


@pytest.mark.parametrize("resource", WRITABLE, ids=[r.path for r in WRITABLE])
async def test_bad_bodies_get_a_clear_4xx(api: httpx.AsyncClient, world: World, resource: Resource) -> None:
    owner = {**world.a.bearer(Role.OWNER), "content-type": "application/json"}
    for method, url in await targets(resource, world):
        cases = {
            b"{not json": (400, "malformed"),
            b"[]": (400, "Expected `object`"),
            b'{"name": 12}': (400, "Expected `str`"),
            b'{"name": "ok", "surprise": true}': (400, "unknown field `surprise`"),
            b'{"name": "' + b"x" * 300_000 + b'"}': (413, "larger than"),
        }
        for body, (status, words) in cases.items():
            response = await api.request(method, url, content=body, headers=owner)
            assert response.status_code == status, (method, url, body[:40], response.text)
            problem = response.json()
            assert problem["status"] == status and words in response.text, (method, url, response.text)


async def test_bad_ids_and_cursors_are_4xx(api: httpx.AsyncClient, world: World) -> None:
    owner = world.a.bearer(Role.OWNER)
    assert (await api.get("/api/v1/contacts/not-an-id", headers=owner)).status_code == 404
    assert (await api.get("/api/v1/contacts", params={"cursor": "nope"}, headers=owner)).status_code == 400
    assert (await api.get("/api/v1/contacts", params={"limit": "1000"}, headers=owner)).status_code == 400
    assert (await api.get("/api/v1/audit", params={"limit": "x"}, headers=owner)).status_code == 400


async def test_contacts_page_through_with_a_cursor(api: httpx.AsyncClient, world: World) -> None:
    owner = world.a.bearer(Role.OWNER)
    made = [(await api.post("/api/v1/contacts", json={"name": f"P{i}"}, headers=owner)).json()["id"] for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/contacts", params=params, headers=owner)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


async def test_the_openapi_document_declares_bearer_tokens(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/api/v1/schema/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: `scrm tokens create` prints one.",
    }
    operations = {
        f"{method} {path}": operation.get("security")
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations and {op: s for op, s in operations.items() if not s} == {}, "every operation names its security"
    resource_paths = {r.path for r in RESOURCES}
    for operation, security in operations.items():
        path = operation.split(" ", 1)[1]
        if path in resource_paths or path.rsplit("/", 1)[0] in resource_paths:
            assert security == [{"bearer": []}], operation
    assert "credentials" not in schema["components"]["schemas"]["ChannelOut"]["properties"]

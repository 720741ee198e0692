"""Editing a contact over the API: checked and normalised fields, clear 400s, the audit log, reach, blocking."""

from __future__ import annotations

import httpx
import pytest
from beanie import PydanticObjectId

from scrm.models import AuditAction, AuditEntry, Contact, Role
from tests.api.resources import seed_contact
from tests.api.world import World


async def audit_of(world: World, action: AuditAction) -> list[AuditEntry]:
    """Workspace a's audit entries of one kind."""
    return await AuditEntry.find({"workspace_id": world.a.workspace.id, "action": action.value}).to_list()


async def test_an_edit_is_normalised_stored_and_audited_without_its_values(
    api: httpx.AsyncClient, world: World
) -> None:
    contact = await seed_contact(world.a, "agent")
    change = {
        "name": "  Wang Fang ",
        "email": "Wang.Fang@Example.COM",
        "phone": "+86 138 1234 5678",
        "language": "zh-CN",
        "timezone": "Asia/Shanghai",
        "tags": ["vip", " wholesale", "vip"],
        "attributes": {"city": "上海", "orders": 3},
    }
    response = await api.patch(f"/api/v1/contacts/{contact}", json=change, headers=world.a.bearer(Role.AGENT))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Wang Fang" and body["email"] == "wang.fang@example.com"
    assert body["phone"] == "+8613812345678" and body["timezone"] == "Asia/Shanghai"
    assert body["tags"] == ["vip", "wholesale"] and body["attributes"] == {"city": "上海", "orders": 3}
    stored = await world.a.scope.get(Contact, PydanticObjectId(contact))
    assert stored.phone == "+8613812345678" and stored.language == "zh-CN"
    [entry] = await audit_of(world, AuditAction.CONTACT_UPDATED)
    assert entry.target == f"contact:{contact}"
    assert entry.details == {"fields": ["attributes", "email", "language", "name", "phone", "tags", "timezone"]}
    assert "+8613812345678" not in str(entry.details)  # the log keeps no personal data

    again = await api.patch(f"/api/v1/contacts/{contact}", json={"email": None}, headers=world.a.bearer(Role.AGENT))
    assert again.status_code == 200 and again.json()["email"] is None
    assert len(await audit_of(world, AuditAction.CONTACT_UPDATED)) == 2


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA time zone"),
        ({"email": "someone@localhost"}, "email 'someone@localhost' is not an email address"),
        ({"email": "no-at-sign"}, "email"),
        ({"phone": "+1 555"}, "phone '+1 555' is not a valid phone number"),
        ({"language": "english please"}, "language"),
        ({"name": "x" * 201}, "name"),
        ({"attributes": {"note": "y" * 1001}}, "attribute 'note' is too long: 1001 characters, at most 1000"),
        ({"attributes": {"$where": "1"}}, "attribute name '$where'"),
        ({"tags": ["t" * 65]}, "tags"),
        ({"blocked": True}, "blocked"),
    ],
)
async def test_a_bad_field_is_a_400_saying_what_is_wrong(
    api: httpx.AsyncClient, world: World, change: dict[str, object], said: str
) -> None:
    contact = await seed_contact(world.a, "agent")
    before = await world.a.scope.get(Contact, PydanticObjectId(contact))
    response = await api.patch(f"/api/v1/contacts/{contact}", json=change, headers=world.a.bearer(Role.ADMIN))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert said in response.text
    assert await world.a.scope.get(Contact, PydanticObjectId(contact)) == before
    assert await audit_of(world, AuditAction.CONTACT_UPDATED) == []


async def test_agents_edit_within_reach_and_viewers_not_at_all(api: httpx.AsyncClient, world: World) -> None:
    mine, outside = await seed_contact(world.a, "agent"), await seed_contact(world.a, "outside")
    agent, viewer = world.a.bearer(Role.AGENT), world.a.bearer(Role.VIEWER)
    assert (await api.patch(f"/api/v1/contacts/{mine}", json={"name": "A"}, headers=agent)).status_code == 200
    assert (await api.patch(f"/api/v1/contacts/{outside}", json={"name": "B"}, headers=agent)).status_code == 404
    assert (await api.patch(f"/api/v1/contacts/{mine}", json={"name": "C"}, headers=viewer)).status_code == 403
    theirs = await seed_contact(world.b, "agent")
    owner = world.a.bearer(Role.OWNER)
    assert (await api.patch(f"/api/v1/contacts/{theirs}", json={"name": "D"}, headers=owner)).status_code == 404
    assert (await world.b.scope.get(Contact, PydanticObjectId(theirs))).name != "D"


async def test_a_contact_is_created_with_its_phone_normalised(api: httpx.AsyncClient, world: World) -> None:
    created = await api.post(
        "/api/v1/contacts", json={"name": "Ana", "phone": "0044 20 7946 0958"}, headers=world.a.bearer(Role.ADMIN)
    )
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "+442079460958"
    bad = await api.post("/api/v1/contacts", json={"timezone": "Nowhere"}, headers=world.a.bearer(Role.ADMIN))
    assert bad.status_code == 400 and "timezone 'Nowhere'" in bad.text


async def test_block_and_unblock_are_audited_and_need_the_right_to_edit(api: httpx.AsyncClient, world: World) -> None:
    contact = await seed_contact(world.a, "agent")
    viewer = world.a.bearer(Role.VIEWER)
    assert (await api.post(f"/api/v1/contacts/{contact}/block", headers=viewer)).status_code == 403
    blocked = await api.post(f"/api/v1/contacts/{contact}/block", headers=world.a.bearer(Role.AGENT))
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    assert (await world.a.scope.get(Contact, PydanticObjectId(contact))).blocked
    outside = await seed_contact(world.a, "outside")
    assert (await api.post(f"/api/v1/contacts/{outside}/block", headers=world.a.bearer(Role.AGENT))).status_code == 404
    unblocked = await api.post(f"/api/v1/contacts/{contact}/unblock", headers=world.a.bearer(Role.AGENT))
    assert unblocked.json()["blocked"] is False
    assert len(await audit_of(world, AuditAction.CONTACT_BLOCKED)) == 1
    assert len(await audit_of(world, AuditAction.CONTACT_UNBLOCKED)) == 1


async def test_the_timeline_api_pages_and_keeps_to_the_workspace(api: httpx.AsyncClient, world: World) -> None:
    contact = await seed_contact(world.a, "agent")
    owner = world.a.bearer(Role.OWNER)
    page = await api.get(f"/api/v1/contacts/{contact}/timeline", headers=owner)
    assert page.status_code == 200, page.text
    assert [item["kind"] for item in page.json()["items"]] == ["conversation_opened"]
    assert page.json()["next_cursor"] is None
    bad = await api.get(f"/api/v1/contacts/{contact}/timeline", params={"cursor": "yesterday"}, headers=owner)
    assert bad.status_code == 400 and "Invalid cursor" in bad.text
    other = await api.get(f"/api/v1/contacts/{contact}/timeline", headers=world.b.bearer(Role.OWNER))
    assert other.status_code == 404
    outside = await seed_contact(world.a, "outside")
    hidden = await api.get(f"/api/v1/contacts/{outside}/timeline", headers=world.a.bearer(Role.AGENT))
    assert hidden.status_code == 404

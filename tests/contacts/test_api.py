"""The merge API: suggest, preview, merge and unmerge over HTTP, audited, within the caller's workspace and reach."""

from __future__ import annotations

from typing import Literal

import httpx
from beanie import PydanticObjectId

from scrm.models import AuditAction, AuditEntry, Contact, MergeSuggestion, Role
from tests.api.scope_guard import ScopeGuard
from tests.api.world import Side, World
from tests.contacts.seeds import seed_merge_suggestion

NEVER_STORED = "0123456789abcdef01234567"


async def pair_of(side: Side, reach: Literal["agent", "outside"] = "agent") -> tuple[str, str, str]:
    """A suggestion and its two contacts (the older, which stays, first)."""
    suggestion = await seed_merge_suggestion(side, reach)
    stored = await side.scope.get(MergeSuggestion, PydanticObjectId(suggestion))
    return suggestion, str(stored.first_id), str(stored.second_id)


async def test_suggest_preview_merge_and_unmerge_over_the_api(api: httpx.AsyncClient, world: World) -> None:
    suggestion, survivor, merged = await pair_of(world.a)
    owner = world.a.bearer(Role.OWNER)

    listed = (await api.get("/api/v1/merge-suggestions", params={"contact": merged}, headers=owner)).json()
    assert [s["id"] for s in listed["items"]] == [suggestion]
    assert listed["items"][0]["reason"].startswith("same phone +86138")

    preview = await api.get(f"/api/v1/contacts/{merged}/merge-preview", params={"into": survivor}, headers=owner)
    assert preview.status_code == 200, preview.text
    assert preview.json()["contact"]["id"] == survivor and preview.json()["moves"]["conversations"] == 1

    merging = await api.post(f"/api/v1/contacts/{merged}/merge", json={"into": survivor}, headers=owner)
    assert merging.status_code == 200, merging.text
    done = merging.json()["merge"]
    assert done["suggestion_id"] == suggestion and done["moved"]["conversations"] == 1
    assert len(merging.json()["contacts"][0]["identities"]) == 2
    accepted = await api.get(f"/api/v1/merge-suggestions/{suggestion}", headers=owner)
    assert accepted.json()["status"] == "accepted"
    assert [m["id"] for m in (await api.get("/api/v1/merges", headers=owner)).json()["items"]] == [done["id"]]

    undoing = await api.post(f"/api/v1/contacts/{merged}/unmerge", json={}, headers=owner)
    assert undoing.status_code == 200, undoing.text
    assert [c["id"] for c in undoing.json()["contacts"]] == [survivor, merged]
    assert (await api.get(f"/api/v1/merges/{done['id']}", headers=owner)).json()["undone_at"] is not None
    gone = await world.a.scope.find_one(Contact, {"merged_into": {"$ne": None}})
    assert gone is None
    actions = [e.action for e in await AuditEntry.find({"workspace_id": world.a.workspace.id}).to_list()]
    assert AuditAction.CONTACTS_MERGED in actions and AuditAction.CONTACTS_UNMERGED in actions


async def test_a_survivor_names_the_merge_to_undo(api: httpx.AsyncClient, world: World) -> None:
    _, survivor, merged = await pair_of(world.a)
    owner = world.a.bearer(Role.OWNER)
    done = (await api.post(f"/api/v1/contacts/{merged}/merge", json={"into": survivor}, headers=owner)).json()
    merge_id = done["merge"]["id"]

    undoing = await api.post(f"/api/v1/contacts/{survivor}/unmerge", json={"merge": merge_id}, headers=owner)

    assert undoing.status_code == 200, undoing.text
    again = await api.post(f"/api/v1/contacts/{survivor}/unmerge", json={"merge": merge_id}, headers=owner)
    assert again.status_code == 409


async def test_impossible_merges_are_409(api: httpx.AsyncClient, world: World) -> None:
    _, survivor, merged = await pair_of(world.a)
    owner = world.a.bearer(Role.OWNER)

    itself = await api.post(f"/api/v1/contacts/{merged}/merge", json={"into": merged}, headers=owner)
    assert itself.status_code == 409 and "itself" in itself.json()["detail"]
    await api.post(f"/api/v1/contacts/{merged}/merge", json={"into": survivor}, headers=owner)
    twice = await api.post(f"/api/v1/contacts/{merged}/merge", json={"into": survivor}, headers=owner)
    assert twice.status_code == 409
    only = await api.post(f"/api/v1/contacts/{survivor}/unmerge", json={}, headers=owner)
    assert only.status_code == 200  # the survivor of exactly one merge needs no record id
    nothing = await api.post(f"/api/v1/contacts/{survivor}/unmerge", json={}, headers=owner)
    assert nothing.status_code == 409 and "no merge to undo" in nothing.json()["detail"]


async def test_viewers_cannot_merge_unmerge_or_dismiss(api: httpx.AsyncClient, world: World) -> None:
    suggestion, survivor, merged = await pair_of(world.a)
    viewer = world.a.bearer(Role.VIEWER)

    preview = await api.get(f"/api/v1/contacts/{merged}/merge-preview", params={"into": survivor}, headers=viewer)
    assert preview.status_code == 200
    for response in (
        await api.post(f"/api/v1/contacts/{merged}/merge", json={"into": survivor}, headers=viewer),
        await api.post(f"/api/v1/contacts/{merged}/unmerge", json={}, headers=viewer),
        await api.patch(f"/api/v1/merge-suggestions/{suggestion}", json={"status": "dismissed"}, headers=viewer),
    ):
        assert response.status_code == 403


async def test_another_workspaces_contacts_are_404_like_ids_never_stored(
    api: httpx.AsyncClient, world: World, scope_guard: ScopeGuard
) -> None:
    _, theirs_kept, theirs_merged = await pair_of(world.b)
    _, ours, _ = await pair_of(world.a)
    owner = world.a.bearer(Role.OWNER)
    calls = [
        ("GET", f"/api/v1/contacts/{theirs_merged}/merge-preview?into={theirs_kept}", None),
        ("GET", f"/api/v1/contacts/{ours}/merge-preview?into={theirs_kept}", None),
        ("POST", f"/api/v1/contacts/{theirs_merged}/merge", {"into": theirs_kept}),
        ("POST", f"/api/v1/contacts/{ours}/merge", {"into": theirs_kept}),
        ("POST", f"/api/v1/contacts/{theirs_merged}/unmerge", {}),
    ]
    with scope_guard.watching() as unscoped:
        for method, url, body in calls:
            response = await api.request(method, url, json=body, headers=owner)
            assert response.status_code == 404, (method, url, response.text)
            never = await api.request(
                method,
                url.replace(theirs_kept, NEVER_STORED).replace(theirs_merged, NEVER_STORED),
                json=body,
                headers=owner,
            )
            assert never.status_code == 404
    assert unscoped == []
    assert await Contact.find({"merged_into": {"$ne": None}}).count() == 0


async def test_an_agent_merges_only_contacts_of_their_channels(
    api: httpx.AsyncClient, world: World, scope_guard: ScopeGuard
) -> None:
    _, inside_kept, inside_merged = await pair_of(world.a, "agent")
    outside_suggestion, outside_kept, outside_merged = await pair_of(world.a, "outside")
    agent = world.a.bearer(Role.AGENT)

    with scope_guard.watching() as unscoped:
        listed = (await api.get("/api/v1/merge-suggestions", headers=agent)).json()
        assert outside_suggestion not in [s["id"] for s in listed["items"]]
        refused = await api.post(f"/api/v1/contacts/{outside_merged}/merge", json={"into": outside_kept}, headers=agent)
        assert refused.status_code == 404
        across = await api.post(f"/api/v1/contacts/{inside_merged}/merge", json={"into": outside_kept}, headers=agent)
        assert across.status_code == 404
        merged = await api.post(f"/api/v1/contacts/{inside_merged}/merge", json={"into": inside_kept}, headers=agent)
        assert merged.status_code == 200, merged.text
    assert unscoped == []

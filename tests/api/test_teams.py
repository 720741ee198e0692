"""`/api/v1/teams` and `/api/v1/availability`, team routing and the team filter of `/api/v1/conversations`."""

from __future__ import annotations

from datetime import datetime

import httpx
from beanie import PydanticObjectId

from scrm.auth.accounts import add_member, create_user
from scrm.auth.tokens import create_token
from scrm.models import Membership, Role
from tests.api.world import Side, World
from tests.inbox.seeds import seed_conversation

PASSWORD = "correct horse battery"


async def agent(side: Side, email: str, now: datetime) -> PydanticObjectId:
    """A new agent of the side's workspace (on no channel); their user id."""
    user = await create_user(email, PASSWORD, now)
    assert user.id is not None
    await add_member(side.scope.workspace_id, user, Role.AGENT, now, actor="test")
    return user.id


async def team_token(side: Side, team_id: str, now: datetime) -> dict[str, str]:
    """Bearer headers of an agent token on no channel, reaching this team's conversations."""
    _, plain = await create_token(
        side.scope, Role.AGENT, f"team {team_id}", now, actor="test", team_ids=[PydanticObjectId(team_id)]
    )
    return {"authorization": f"Bearer {plain}"}


async def test_an_admin_builds_a_team_and_its_members_reach_follows(
    api: httpx.AsyncClient, world: World, now: datetime
) -> None:
    side, admin = world.a, world.a.bearer(Role.ADMIN)
    assert side.other_channel is not None
    body = {"name": "  Front   desk ", "channel_ids": [str(side.other_channel.id)], "auto_assign": True}
    created = await api.post("/api/v1/teams", json=body, headers=admin)
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["name"] == "Front desk" and team["default_capacity"] == 20 and team["member_ids"] == []
    ana, ben = await agent(side, "ana@example.com", now), await agent(side, "ben@example.com", now)
    for user in (ana, ben):
        added = await api.put(f"/api/v1/teams/{team['id']}/members/{user}", headers=admin)
        assert added.status_code == 200, added.text
    shown = (await api.get(f"/api/v1/teams/{team['id']}", headers=side.bearer(Role.VIEWER))).json()
    assert shown["member_ids"] == [str(ana), str(ben)]
    member = await side.scope.find_one(Membership, {"user_id": ana})
    assert member is not None and [str(t) for t in member.team_ids] == [team["id"]]
    reordered = await api.put(f"/api/v1/teams/{team['id']}/members", json={"user_ids": [str(ben)]}, headers=admin)
    assert reordered.json()["member_ids"] == [str(ben)]
    member = await side.scope.find_one(Membership, {"user_id": ana})
    assert member is not None and member.team_ids == []
    patched = await api.patch(f"/api/v1/teams/{team['id']}", json={"default_capacity": 5}, headers=admin)
    assert patched.json()["default_capacity"] == 5 and patched.json()["name"] == "Front desk"
    assert (await api.delete(f"/api/v1/teams/{team['id']}", headers=admin)).status_code == 204
    member = await side.scope.find_one(Membership, {"user_id": ben})
    assert member is not None and member.team_ids == []
    assert (await api.get("/api/v1/teams", headers=admin)).json()["items"] == []


async def test_bad_team_input_is_a_clear_client_error(api: httpx.AsyncClient, world: World, now: datetime) -> None:
    admin = world.a.bearer(Role.ADMIN)
    zero = await api.post("/api/v1/teams", json={"name": "A", "default_capacity": 0}, headers=admin)
    assert zero.status_code == 400 and "default_capacity" in zero.text
    assert world.b.agent_channel is not None
    elsewhere = {"name": "B", "channel_ids": [str(world.b.agent_channel.id)]}
    foreign = await api.post("/api/v1/teams", json=elsewhere, headers=admin)
    assert foreign.status_code == 400 and "not in this workspace" in foreign.json()["detail"]
    team = (await api.post("/api/v1/teams", json={"name": "Sales"}, headers=admin)).json()
    assert (await api.post("/api/v1/teams", json={"name": "Sales"}, headers=admin)).status_code == 409
    viewer = await create_user("viewer@example.com", PASSWORD, now)
    await add_member(world.a.scope.workspace_id, viewer, Role.VIEWER, now, actor="test")
    refused = await api.put(f"/api/v1/teams/{team['id']}/members/{viewer.id}", headers=admin)
    assert refused.status_code == 400 and "works the inbox" in refused.json()["detail"]
    blank = await api.patch(f"/api/v1/teams/{team['id']}", json={"name": "   "}, headers=admin)
    assert blank.status_code == 400


async def test_an_agent_of_another_team_cannot_open_the_conversation_while_a_member_can(
    api: httpx.AsyncClient, world: World, now: datetime
) -> None:
    side, admin = world.a, world.a.bearer(Role.ADMIN)
    conversation = await seed_conversation(side, "outside")  # on a channel no agent token works in
    vip = (await api.post("/api/v1/teams", json={"name": "VIP"}, headers=admin)).json()
    sales = (await api.post("/api/v1/teams", json={"name": "Sales"}, headers=admin)).json()
    member, outsider = await team_token(side, vip["id"], now), await team_token(side, sales["id"], now)
    url = f"/api/v1/conversations/{conversation}"
    assert (await api.get(url, headers=member)).status_code == 404, "not routed to the team yet"
    routed = await api.patch(url, json={"team_id": vip["id"]}, headers=admin)
    assert routed.status_code == 200 and routed.json()["team_id"] == vip["id"]
    assert (await api.get(url, headers=member)).status_code == 200
    assert (await api.get(url, headers=outsider)).status_code == 404
    assert (await api.patch(url, json={"status": "resolved"}, headers=outsider)).status_code == 404
    listed = (await api.get("/api/v1/conversations", headers=member)).json()
    assert [item["id"] for item in listed["items"]] == [conversation]
    unknown = await api.patch(url, json={"team_id": "0123456789abcdef01234567"}, headers=admin)
    assert unknown.status_code == 400 and "not a team of this workspace" in unknown.json()["detail"]


async def test_the_conversation_list_filters_by_team(api: httpx.AsyncClient, world: World) -> None:
    side, admin = world.a, world.a.bearer(Role.ADMIN)
    first, second, third = [await seed_conversation(side, "agent") for _ in range(3)]
    team = (await api.post("/api/v1/teams", json={"name": "Returns"}, headers=admin)).json()
    for conversation in (first, third):
        await api.patch(f"/api/v1/conversations/{conversation}", json={"team_id": team["id"]}, headers=admin)
    listed = await api.get("/api/v1/conversations", params={"team_id": team["id"]}, headers=admin)
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()["items"]} == {first, third}
    assert listed.json()["counts"]["open"] == 2
    cleared = await api.patch(f"/api/v1/conversations/{third}", json={"team_id": None}, headers=admin)
    assert cleared.json()["team_id"] is None
    again = await api.get("/api/v1/conversations", params={"team_id": team["id"]}, headers=admin)
    assert [item["id"] for item in again.json()["items"]] == [first]
    assert second not in {item["id"] for item in again.json()["items"]}


async def test_admins_read_and_set_availability_and_agents_tokens_cannot(
    api: httpx.AsyncClient, world: World, now: datetime
) -> None:
    side, admin = world.a, world.a.bearer(Role.ADMIN)
    ana = await agent(side, "ana@example.com", now)
    listed = (await api.get("/api/v1/availability", headers=admin)).json()["items"]
    assert [(item["id"], item["status"], item["available"]) for item in listed] == [(str(ana), "offline", False)]
    url = f"/api/v1/availability/{ana}"
    online = await api.patch(url, json={"status": "online", "capacity": 3}, headers=admin)
    assert online.status_code == 200, online.text
    assert online.json()["available"] is True and online.json()["capacity"] == 3
    assert online.json()["last_seen_at"] is not None
    reset = await api.patch(url, json={"capacity": None}, headers=admin)
    assert reset.json()["capacity"] is None and reset.json()["status"] == "online"
    assert (await api.patch(url, json={"status": "away"}, headers=side.bearer(Role.AGENT))).status_code == 403
    assert (await api.get(url, headers=side.bearer(Role.AGENT))).status_code == 403
    bad = await api.patch(url, json={"status": "asleep"}, headers=admin)
    assert bad.status_code == 400
    nobody = await api.patch(f"/api/v1/availability/{side.workspace.id}", json={"status": "away"}, headers=admin)
    assert nobody.status_code == 404

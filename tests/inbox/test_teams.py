"""Teams and availability: the services, the web teams page, the availability switch and the team filter."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pymongo.errors import DuplicateKeyError

from scrm.auth.roles import Principal
from scrm.inbox.availability import AvailabilityRefused, note_activity, set_availability
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.teams import (
    add_team_member,
    change_team,
    create_team,
    delete_team,
    remove_team_member,
    route_to_team,
)
from scrm.models import AgentAvailability, AgentStatus, Conversation, Membership, Role, Team
from tests.auth.conftest import MovableClock
from tests.auth.forms import HTML, csrf_of
from tests.auth.test_commands import output, scrm
from tests.inbox.conftest import Inbox, signed_in

HTMX = {**HTML, "hx-request": "true"}


def admin_of(inbox: Inbox) -> Principal:
    """An admin principal of the inbox's workspace."""
    return Principal(inbox.scope.workspace_id, Role.ADMIN, "test")


def me(inbox: Inbox, who: str) -> Principal:
    """The principal a signed-in member acts as."""
    user = inbox.users[who]
    return Principal(inbox.scope.workspace_id, Role.AGENT, f"user:{user.id}")


async def team_ids_of(inbox: Inbox, who: str) -> list[str]:
    """The teams a member's membership lists (what their reach follows)."""
    member = await inbox.scope.find_one(Membership, {"user_id": inbox.users[who].id})
    assert member is not None
    return [str(t) for t in member.team_ids]


def listed(page: httpx.Response) -> list[str]:
    """The contact names in the page's conversation list, in order."""
    return re.findall(r'<strong class="conv-name">([^<]+)</strong>', page.text)


async def test_a_teams_members_and_the_memberships_stay_in_step(inbox: Inbox, now: datetime) -> None:
    admin = admin_of(inbox)
    team = await create_team(admin, " Night   shift ", now, channel_ids=[inbox.wechat.id])  # type: ignore[list-item]
    team_id = team.id
    assert team_id is not None and team.name == "Night shift" and team.auto_assign is False
    agent, other = inbox.users["agent"].id, inbox.users["other_agent"].id
    assert agent is not None and other is not None
    await add_team_member(admin, team_id, agent)
    team = await add_team_member(admin, team_id, agent)  # again: no change
    team = await add_team_member(admin, team_id, other)
    assert team.member_ids == [agent, other]
    assert await team_ids_of(inbox, "agent") == [str(team_id)] == await team_ids_of(inbox, "other_agent")
    await remove_team_member(admin, team_id, agent)
    assert await team_ids_of(inbox, "agent") == []
    renamed = await change_team(admin, team_id, name="Late shift", auto_assign=True, default_capacity=4)
    assert (renamed.name, renamed.auto_assign, renamed.default_capacity) == ("Late shift", True, 4)
    await route_to_team(admin, inbox.oid("Li"), team_id)
    await delete_team(admin, team_id)
    assert await team_ids_of(inbox, "other_agent") == []
    li = await inbox.scope.get(Conversation, inbox.oid("Li"))
    assert li.team_id is None and await inbox.scope.count(Team) == 0


async def test_team_names_are_unique_and_bad_input_is_refused(inbox: Inbox, now: datetime) -> None:
    admin = admin_of(inbox)
    team = await create_team(admin, "Sales", now)
    assert team.id is not None
    with pytest.raises(DuplicateKeyError):
        await create_team(admin, "Sales", now)
    for bad in ({"name": " "}, {"default_capacity": 0}, {"channel_ids": [inbox.oid("Mia")]}):
        with pytest.raises(InboxInputError):
            await change_team(admin, team.id, **bad)
    viewer = inbox.users["viewer"].id
    assert viewer is not None
    with pytest.raises(InboxInputError, match="works the inbox"):
        await add_team_member(admin, team.id, viewer)
    assert (await inbox.scope.get(Team, team.id)).member_ids == []


async def test_activity_refreshes_last_seen_at_at_most_once_a_minute(inbox: Inbox, now: datetime) -> None:
    agent = inbox.users["agent"].id
    assert agent is not None
    await set_availability(me(inbox, "agent"), agent, now, status=AgentStatus.ONLINE)
    assert not await note_activity(inbox.scope, agent, now + timedelta(seconds=30))  # written a moment ago
    assert not await note_activity(inbox.scope, agent, now + timedelta(seconds=61))  # checked within the minute
    assert await note_activity(inbox.scope, agent, now + timedelta(seconds=91))
    assert not await note_activity(inbox.scope, agent, now + timedelta(seconds=120))
    row = await inbox.scope.find_one(AgentAvailability, {"user_id": agent})
    assert row is not None and row.last_seen_at == now + timedelta(seconds=91)


async def test_a_member_sets_their_own_status_only_and_admins_set_capacity(inbox: Inbox, now: datetime) -> None:
    agent, other = inbox.users["agent"].id, inbox.users["other_agent"].id
    assert agent is not None and other is not None
    mine = await set_availability(me(inbox, "agent"), agent, now, status=AgentStatus.AWAY)
    assert mine.status is AgentStatus.AWAY and mine.capacity is None
    with pytest.raises(AvailabilityRefused):
        await set_availability(me(inbox, "agent"), other, now, status=AgentStatus.OFFLINE)
    with pytest.raises(AvailabilityRefused):
        await set_availability(me(inbox, "agent"), agent, now, capacity=50)
    changed = await set_availability(admin_of(inbox), agent, now, capacity=7)
    assert changed.capacity == 7 and changed.status is AgentStatus.AWAY


async def test_a_team_member_opens_the_teams_conversation_and_loses_it_on_leaving(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    admin = admin_of(inbox)
    team = await create_team(admin, "Coffee", now)
    agent = inbox.users["agent"].id
    assert team.id is not None and agent is not None
    await route_to_team(admin, inbox.oid("Li"), team.id)  # Li writes on WeChat, not the agent's channel
    await signed_in(web, "agent")
    assert (await web.get(f"/inbox/{inbox.cid('Li')}", headers=HTML)).status_code == 404
    await add_team_member(admin, team.id, agent)
    page = await web.get(f"/inbox/{inbox.cid('Li')}", headers=HTML)
    assert page.status_code == 200 and "咖啡洒了" in page.text
    assert listed(await web.get(f"/inbox?team={team.id}", headers=HTML)) == ["Li"]
    await remove_team_member(admin, team.id, agent)
    assert (await web.get(f"/inbox/{inbox.cid('Li')}", headers=HTML)).status_code == 404


async def test_an_admin_manages_teams_on_the_teams_page(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    page = await web.get("/teams", headers=HTML)
    assert page.status_code == 200
    form = {"csrf_token": csrf_of(page), "name": "Telegram crew", "channel_ids": str(inbox.telegram.id)}
    created = await web.post("/teams", data={**form, "auto_assign": "1", "default_capacity": "5"}, headers=HTML)
    assert created.status_code == 303
    team = await inbox.scope.find_one(Team, {"name": "Telegram crew"})
    assert team is not None and team.auto_assign and team.default_capacity == 5
    assert team.channel_ids == [inbox.telegram.id]
    members = [str(inbox.users["agent"].id), str(inbox.users["admin"].id)]
    edit = {"csrf_token": form["csrf_token"], "name": "Telegram crew", "member_ids": members, "default_capacity": "3"}
    saved = await web.post(f"/teams/{team.id}", data=edit, headers=HTML)
    assert saved.status_code == 303
    team = await inbox.scope.get(Team, team.id)  # type: ignore[arg-type]
    assert [str(m) for m in team.member_ids] == members and team.channel_ids == [] and not team.auto_assign
    assert await team_ids_of(inbox, "agent") == [str(team.id)]
    shown = await web.get("/teams", headers=HTML)
    assert 'data-team="Telegram crew"' in shown.text and "Agent" in shown.text
    duplicate = await web.post("/teams", data={**form}, headers=HTML)
    assert duplicate.status_code == 409
    gone = await web.post(f"/teams/{team.id}/delete", data={"csrf_token": form["csrf_token"]}, headers=HTML)
    assert gone.status_code == 303 and await inbox.scope.count(Team) == 0


async def test_an_agent_may_not_manage_teams(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "agent")
    assert (await web.get("/teams", headers=HTML)).status_code == 403
    inbox_page = await web.get("/inbox", headers=HTML)
    refused = await web.post("/teams", data={"csrf_token": csrf_of(inbox_page), "name": "Mine"}, headers=HTML)
    assert refused.status_code == 403 and await inbox.scope.count(Team) == 0


async def test_the_agent_switches_online_in_the_inbox_and_the_switch_counts_as_activity(
    web: httpx.AsyncClient, inbox: Inbox, clock: MovableClock
) -> None:
    await signed_in(web, "agent")
    agent = inbox.users["agent"].id
    inbox_page = await web.get("/inbox", headers=HTML)
    assert 'id="availability-switch"' in inbox_page.text
    switch = await web.get("/availability/switch", headers=HTMX)
    assert switch.status_code == 200 and 'data-availability="offline"' in switch.text and "<html" not in switch.text
    posted = await web.post(
        "/availability/me", data={"csrf_token": csrf_of(inbox_page), "status": "online"}, headers=HTML
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/inbox"
    row = await inbox.scope.find_one(AgentAvailability, {"user_id": agent})
    assert row is not None and row.status is AgentStatus.ONLINE and row.last_seen_at == clock.now
    clock.advance(minutes=5)
    assert 'data-availability="online"' in (await web.get("/availability/switch", headers=HTMX)).text
    row = await inbox.scope.find_one(AgentAvailability, {"user_id": agent})
    assert row is not None and row.last_seen_at == clock.now
    page = await web.get("/availability/switch", headers=HTML)
    assert "<html" in page.text, "without htmx the switch is a page of its own"
    clock.advance(minutes=5)
    assert (await web.get("/inbox/list", headers=HTMX)).status_code == 200  # any inbox request is activity
    row = await inbox.scope.find_one(AgentAvailability, {"user_id": agent})
    assert row is not None and row.last_seen_at == clock.now


async def test_the_team_filter_lists_the_teams_and_narrows_the_list(web: httpx.AsyncClient, inbox: Inbox) -> None:
    team = await create_team(admin_of(inbox), "Returns", datetime.now())
    assert team.id is not None
    await route_to_team(admin_of(inbox), inbox.oid("Mia"), team.id)
    await signed_in(web, "admin")
    choices = await web.get(f"/teams/filter?team={team.id}", headers=HTMX)
    assert f'<option value="{team.id}" selected>Returns</option>' in choices.text
    assert listed(await web.get(f"/inbox?team={team.id}", headers=HTML)) == ["Mia"]
    assert listed(await web.get("/inbox", headers=HTML)) == ["Mia", "Li"]
    assert listed(await web.get(f"/inbox/list?team={team.id}", headers=HTMX)) == ["Mia"]


async def test_teams_from_the_command_line(inbox: Inbox, mongo_uri: str, database_name: str, tmp_path: Path) -> None:
    env = {"SCRM_MONGODB_URI": mongo_uri, "SCRM_DATABASE": database_name, "SCRM_HOME": str(tmp_path / "home")}
    added = await scrm(
        env, "teams", "add", "Night shift", "--workspace", "shop", "--channel", str(inbox.telegram.id),
        "--auto-assign", "--capacity", "4", "--json",
    )  # fmt: skip
    made = output(added)
    assert made["auto_assign"] is True and made["channels"] == [str(inbox.telegram.id)]
    members = await scrm(
        env, "teams", "members", "Night shift", "other_agent@example.com", "agent@example.com", "--workspace", "shop",
        "--json",
    )  # fmt: skip
    assert output(members)["members"] == [str(inbox.users["other_agent"].id), str(inbox.users["agent"].id)]
    assert await team_ids_of(inbox, "agent") == [made["id"]]
    listed = output(await scrm(env, "teams", "list", "--workspace", "shop", "--json"))
    assert [t["name"] for t in listed["teams"]] == ["Night shift"]
    refused = await scrm(env, "teams", "members", "Night shift", "viewer@example.com", "--workspace", "shop")
    assert refused.exit_code == 2 and "works the inbox" in refused.output
    again = await scrm(env, "teams", "add", "Night shift", "--workspace", "shop")
    assert again.exit_code == 2 and "already has this name" in again.output


async def test_a_viewer_has_no_availability_switch(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "viewer")
    switch = await web.get("/availability/switch", headers=HTMX)
    assert switch.status_code == 200 and "/availability/me" not in switch.text
    assert await inbox.scope.count(AgentAvailability) == 0

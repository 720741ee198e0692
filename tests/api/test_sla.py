"""`/api/v1/business-hours`, `/api/v1/sla-policy`, and the SLA of conversations in `/api/v1/conversations`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from scrm import pipeline
from scrm.connectors.items import InboundMessage, Sender
from scrm.events import MessageReceived, Where
from scrm.models import Role
from tests.api.world import Side, World

HOURS = "/api/v1/business-hours"
POLICY = "/api/v1/sla-policy"
OFFICE: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "intervals": [
        {"day": "monday", "start": "13:00", "end": "18:00"},
        {"day": "monday", "start": "09:00", "end": "13:00"},
        *({"day": day, "start": "09:00", "end": "18:00"} for day in ("tuesday", "wednesday", "thursday", "friday")),
    ],
    "holidays": ["2026-10-01"],
}


async def put(api: httpx.AsyncClient, side: Side, path: str, body: dict[str, Any]) -> httpx.Response:
    """PUT as the workspace's owner."""
    return await api.put(path, json=body, headers=side.bearer(Role.OWNER))


async def test_business_hours_are_read_and_replaced_whole(api: httpx.AsyncClient, world: World) -> None:
    before = await api.get(HOURS, headers=world.a.bearer(Role.ADMIN))
    assert before.status_code == 200
    assert before.json() == {"timezone": world.a.workspace.timezone, "intervals": [], "holidays": []}  # always open
    saved = await put(api, world.a, HOURS, OFFICE)
    assert saved.status_code == 200, saved.text
    body = (await api.get(HOURS, headers=world.a.bearer(Role.ADMIN))).json()
    assert body == saved.json()
    assert body["intervals"][0] == {"day": "monday", "start": "09:00", "end": "18:00"}  # touching intervals joined
    assert len(body["intervals"]) == 5 and body["holidays"] == ["2026-10-01"]
    other = (await api.get(HOURS, headers=world.b.bearer(Role.OWNER))).json()
    assert other["intervals"] == []


def day(name: str, start: str, end: str) -> dict[str, str]:
    """One interval of the business-hours body."""
    return {"day": name, "start": start, "end": end}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"timezone": "Mars/Olympus"}, "Unknown timezone 'Mars/Olympus'"),
        ({"intervals": [day("monday", "09:00", "13:00"), day("monday", "12:00", "18:00")]}, "overlaps 09:00–13:00"),
        ({"intervals": [day("friday", "18:00", "09:00")]}, "Friday: 18:00–09:00 is not an interval"),
        ({"intervals": [day("friday", "09:00", "25:00")]}, "'25:00' is not a time of day"),
        ({"intervals": [day("someday", "09:00", "10:00")]}, "someday"),
        ({"holidays": ["2026-02-30"]}, "holidays"),
        ({"open": "always"}, "unknown field `open`"),
    ],
)
async def test_bad_business_hours_are_400_saying_what_is_wrong(
    api: httpx.AsyncClient, world: World, change: dict[str, Any], says: str
) -> None:
    response = await put(api, world.a, HOURS, {**OFFICE, **change})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert says in response.text  # the detail, or the validation errors it lists
    assert (await api.get(HOURS, headers=world.a.bearer(Role.OWNER))).json()["intervals"] == []  # nothing stored


async def test_the_policy_is_read_and_replaced_and_checked(api: httpx.AsyncClient, world: World) -> None:
    assert (await api.get(POLICY, headers=world.a.bearer(Role.OWNER))).json()["enabled"] is False
    assert world.a.agent_channel is not None
    wanted = {"name": "Support", "first_response_minutes": 60, "resolution_minutes": 480,
              "channel_ids": [str(world.a.agent_channel.id)]}  # fmt: skip
    saved = await put(api, world.a, POLICY, wanted)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {**wanted, "enabled": True, "business_time": True, "pause_on": ["pending", "snoozed"]}
    assert (await api.get(POLICY, headers=world.a.bearer(Role.ADMIN))).json() == saved.json()
    assert world.b.agent_channel is not None
    refusals: dict[str, dict[str, Any]] = {
        "No channel": {**wanted, "channel_ids": [str(world.b.agent_channel.id)]},  # another workspace's
        "needs a first response or a resolution": {"first_response_minutes": None, "resolution_minutes": None},
        "first_response_minutes": {"first_response_minutes": 0},
        "name": {"name": "   "},
        "pause_on": {**wanted, "pause_on": ["open"]},
    }
    for says, body in refusals.items():
        response = await put(api, world.a, POLICY, body)
        assert response.status_code == 400 and says in response.text, (says, response.text)
    assert (await api.get(POLICY, headers=world.a.bearer(Role.OWNER))).json() == saved.json()


async def test_only_owners_and_admins_change_them(api: httpx.AsyncClient, world: World) -> None:
    for role in (Role.AGENT, Role.MARKETER, Role.VIEWER):
        for path, body in ((HOURS, OFFICE), (POLICY, {"first_response_minutes": 5})):
            response = await api.put(path, json=body, headers=world.a.bearer(role))
            assert response.status_code == 403, (role, path)
    assert (await api.put(POLICY, json={"first_response_minutes": 5}, headers=world.a.bearer(Role.ADMIN))).is_success


async def arrive(side: Side, external_id: str, thread: str, at: datetime) -> str:
    """A contact's message on the agent's channel, through the pipeline; returns its conversation's id."""
    channel = side.agent_channel
    assert channel is not None and channel.id is not None
    item = InboundMessage("telegram", external_id, thread, Sender(f"{thread}-user"), at, text="Hello?")
    event = await pipeline.process(item, Where(side.scope.workspace_id, channel.id, "telegram"), at)
    assert isinstance(event, MessageReceived)
    return str(event.conversation_id)


async def test_conversations_show_their_sla_and_filter_by_it(
    api: httpx.AsyncClient, world: World, now: datetime
) -> None:
    assert (await put(api, world.a, HOURS, OFFICE)).is_success
    assert (await put(api, world.a, POLICY, {"first_response_minutes": 60, "resolution_minutes": 480})).is_success
    late = await arrive(world.a, "m1", "chat-late", now - timedelta(days=1))  # Tuesday 17:30 in Shanghai
    fresh = await arrive(world.a, "m2", "chat-fresh", now)
    owner = world.a.bearer(Role.OWNER)

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(await api.get("/api/v1/conversations", params={"sla": "breached"}, headers=owner)) == [late]
    assert ids(await api.get("/api/v1/conversations", params={"sla": "at_risk"}, headers=owner)) == []
    shown = (await api.get(f"/api/v1/conversations/{late}", headers=owner)).json()["sla"]
    assert shown["state"] == "breached" and shown["first_response_due"] == "2026-05-20T01:30:00Z"
    assert shown["first_responded_at"] is None and shown["due_at"] == "2026-05-20T01:30:00Z"
    ok = (await api.get(f"/api/v1/conversations/{fresh}", headers=owner)).json()["sla"]
    assert ok["state"] == "ok" and ok["due_at"] == "2026-05-21T01:30:00Z"
    bad = await api.get("/api/v1/conversations", params={"sla": "late"}, headers=owner)
    assert bad.status_code == 400

    resolved = await api.patch(f"/api/v1/conversations/{late}", json={"status": "resolved"}, headers=owner)
    assert resolved.status_code == 200
    after = resolved.json()["sla"]
    assert after["resolved_at"] == "2026-05-20T09:30:00Z" and after["state"] == "breached"
    assert after["first_response_breached"] is True and after["resolution_breached"] is True  # due 16:30 yesterday
    bulk = await api.post("/api/v1/conversations/bulk", json={"ids": [fresh], "status": "resolved"}, headers=owner)
    assert bulk.json() == {"matched": 1}
    met = (await api.get(f"/api/v1/conversations/{fresh}", headers=owner)).json()["sla"]
    assert met["state"] == "met" and met["resolved_at"] == "2026-05-20T09:30:00Z"

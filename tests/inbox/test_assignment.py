"""Round-robin auto-assignment: turns, capacity, status, races, replays, queues, and a signed webhook story."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from scrm.db import Database
from scrm.inbox.actions import assign
from scrm.inbox.arrivals import on_arrivals
from scrm.inbox.assignment import assign_waiting
from scrm.inbox.availability import ONLINE_TIMEOUT, set_availability
from scrm.inbox.teams import change_team
from scrm.models import AgentAvailability, AgentStatus, Channel, Conversation, ConversationStatus, Team
from scrm.pipeline import process_many
from scrm.settings import Settings
from scrm.worker import background_jobs
from tests.inbox.desk import arrive, conversations, load, make_desk, messages, staff
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel, telegram_headers, telegram_update


async def test_round_robin_spreads_six_conversations_two_to_each_of_three_online_agents(
    database: Database, now: datetime
) -> None:
    desk = await make_desk(now)
    for _ in range(3):
        await arrive(desk, 2, now)
    assert await load(desk) == {"ana": 2, "ben": 2, "cai": 2}
    assert {c.team_id for c in await conversations(desk)} == {desk.team.id}


async def test_an_offline_agent_an_idle_one_and_one_at_capacity_are_skipped(database: Database, now: datetime) -> None:
    desk = await make_desk(now, ("ana", "ben", "cai", "dan"))
    await set_availability(desk.admin, desk.agents["cai"], now, status=AgentStatus.OFFLINE)
    await set_availability(desk.admin, desk.agents["dan"], now - ONLINE_TIMEOUT * 2, status=AgentStatus.ONLINE)
    await set_availability(desk.admin, desk.agents["ben"], now, capacity=1)
    await arrive(desk, 1, now)
    [first] = await conversations(desk)
    assert first.id is not None
    await assign(desk.admin, first.id, desk.agents["ben"])  # ben's one place is taken by hand
    await arrive(desk, 4, now)
    assert await load(desk) == {"ana": 4, "ben": 1}


async def test_nobody_eligible_leaves_it_in_the_team_queue_until_an_agent_comes_online(
    database: Database, now: datetime
) -> None:
    desk = await make_desk(now, ("ana", "ben"))
    for agent in desk.agents.values():
        await set_availability(desk.admin, agent, now, status=AgentStatus.AWAY)
    await arrive(desk, 3, now)
    waiting = await conversations(desk)
    assert [(c.team_id, c.assignee_id) for c in waiting] == [(desk.team.id, None)] * 3
    assert await assign_waiting(now) == 0
    later = now + timedelta(minutes=5)
    await set_availability(desk.admin, desk.agents["ben"], later, status=AgentStatus.ONLINE, capacity=2)
    [job] = [job for job in background_jobs("worker", lambda: later) if job.name == "assign_waiting"]
    await job.func()  # the worker's clock hands the queue out
    assert await load(desk) == {"ben": 2, None: 1}
    assert await assign_waiting(later) == 0, "ben is full"
    *_, last = await conversations(desk)
    assert last.assignee_id is None, "the oldest conversations are handed out first"


async def test_two_concurrent_batches_never_go_over_any_agents_capacity(database: Database, now: datetime) -> None:
    desk = await make_desk(now, capacity=2)
    one, two = messages(desk, 6, now - timedelta(minutes=1)), messages(desk, 6, now - timedelta(minutes=1))
    await asyncio.gather(process_many(one, now), process_many(two, now), assign_waiting(now))
    counted = await load(desk)
    assert all(counted.get(agent, 0) <= 2 for agent in desk.agents), counted
    assert {c.team_id for c in await conversations(desk)} == {desk.team.id}
    await assign_waiting(now)  # whatever a lost race left waiting is handed out now, still within capacity
    assert await load(desk) == {"ana": 2, "ben": 2, "cai": 2, None: 6}


async def test_many_racing_assignments_to_one_agent_stop_at_capacity(database: Database, now: datetime) -> None:
    desk = await make_desk(now, ("ana",), capacity=3)
    batches = [messages(desk, 1, now - timedelta(minutes=1)) for _ in range(10)]
    await asyncio.gather(*(process_many(batch, now) for batch in batches))
    assert await load(desk) == {"ana": 3, None: 7}
    availability = await desk.scope.find_one(AgentAvailability, {"user_id": desk.agents["ana"]})
    assert availability is not None and availability.assign_seq == 3


async def test_a_replayed_batch_does_not_reassign(database: Database, now: datetime) -> None:
    desk = await make_desk(now)
    events = await arrive(desk, 3, now)
    before = {c.id: c.assignee_id for c in await conversations(desk)}
    assert len(set(before.values())) == 3
    for agent in ("ana", "ben"):
        await set_availability(desk.admin, desk.agents[agent], now, status=AgentStatus.OFFLINE)
    rotation = (await desk.scope.get(Team, desk.team.id)).rotation  # type: ignore[arg-type]
    await on_arrivals(events, now)  # a crash before the batch was marked handled: the step runs again
    assert {c.id: c.assignee_id for c in await conversations(desk)} == before
    assert (await desk.scope.get(Team, desk.team.id)).rotation == rotation  # type: ignore[arg-type]


async def test_a_reopened_conversation_is_assigned_only_when_it_has_nobody(database: Database, now: datetime) -> None:
    desk = await make_desk(now, ("ana",))
    batch = messages(desk, 2, now - timedelta(hours=2))
    await process_many(batch, now - timedelta(hours=1))
    kept, freed = await conversations(desk)
    assert kept.assignee_id == freed.assignee_id == desk.agents["ana"]
    resolved = {"$set": {"status": ConversationStatus.RESOLVED.value}}
    await desk.scope.find(Conversation, {}).update(resolved)
    await desk.scope.find(Conversation, {"_id": freed.id}).update({"$set": {"assignee_id": None, "team_id": None}})
    again = [(replace(item, external_id=f"{item.external_id}-2"), where) for item, where in batch]
    await process_many(again, now)
    kept, freed = await conversations(desk)
    assert kept.status == freed.status == ConversationStatus.OPEN
    assert kept.assignee_id == freed.assignee_id == desk.agents["ana"]
    assert freed.team_id == desk.team.id


async def test_a_team_without_auto_assignment_queues_but_assigns_nobody(database: Database, now: datetime) -> None:
    desk = await make_desk(now, auto_assign=False)
    await arrive(desk, 2, now)
    assert await load(desk) == {None: 2}
    assert {c.team_id for c in await conversations(desk)} == {desk.team.id}
    assert desk.team.id is not None
    await change_team(desk.admin, desk.team.id, auto_assign=True)
    assert await assign_waiting(now) == 2


async def test_a_channel_no_team_handles_is_left_alone(database: Database, now: datetime) -> None:
    desk = await make_desk(now)
    assert desk.team.id is not None
    await change_team(desk.admin, desk.team.id, channel_ids=[])
    await arrive(desk, 2, now)
    assert [(c.team_id, c.assignee_id) for c in await conversations(desk)] == [(None, None)] * 2


async def test_a_signed_webhook_delivery_ends_up_assigned_through_the_real_pipeline(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    made = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    channel = await Channel.get(made.id)
    assert channel is not None
    desk = await staff(channel, datetime.now(UTC), ("ana", "ben"))
    for update_id, user in ((7001, 901), (7002, 902)):
        body = telegram_update(update_id, "Where is my parcel?", user_id=user)
        response = await client.post(f"/webhooks/telegram/{made.id}", content=body, headers=telegram_headers())
        assert response.status_code == 200
    assert await drain(settings) == 2
    found = await Conversation.find({"channel_id": channel.id}).to_list()
    assert sorted(str(c.assignee_id) for c in found) == sorted(str(a) for a in desk.agents.values())
    assert {c.team_id for c in found} == {desk.team.id}

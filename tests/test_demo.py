"""The demo workspace: its history replayed through the connectors and the pipeline, worked by a team (teams,
round robin, SLA, CSAT), and loading twice is a no-op."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from scrm.db import Database
from scrm.demo import DATA, DEMO_OWNER_EMAIL, demo_logins, load_demo
from scrm.demo.timeline import business_before
from scrm.inbox.business_hours import add_business_time, business_time_between, make_schedule
from scrm.inbox.sla import SlaState, sla_filter, sla_status
from scrm.models import (
    AgentAvailability,
    AgentStatus,
    BusinessHours,
    Channel,
    ChannelCredentials,
    Comment,
    Contact,
    Conversation,
    ConversationStatus,
    CsatSurvey,
    Direction,
    Membership,
    Message,
    OutboundMessage,
    OutboundStatus,
    Post,
    Role,
    SlaPolicy,
    SurveyStatus,
    Team,
    User,
    Workspace,
)
from scrm.models.sealed import SecretBox
from tests.api.conftest import keyed_settings
from tests.auth.conftest import clock, web
from tests.auth.forms import log_in
from tests.conftest import TEST_SECRET_KEY

__all__ = ["clock", "keyed_settings", "web"]

COLLECTIONS = (
    Workspace,
    Channel,
    ChannelCredentials,
    Contact,
    Conversation,
    Message,
    Post,
    Comment,
    User,
    Membership,
    Team,
    AgentAvailability,
    BusinessHours,
    SlaPolicy,
    CsatSurvey,
    OutboundMessage,
)
BOX = SecretBox.from_secret_key(TEST_SECRET_KEY)
SUPPORT, SALES = "Support", "销售 Sales"
WEDNESDAY_EVENING = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai, half an hour before closing
SUNDAY_NIGHT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai: closed since Friday 18:00


def demo_data() -> dict[str, Any]:
    """The demo's data file."""
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


async def conversation_of(name: str) -> Conversation:
    """The demo conversation with the contact called `name`."""
    contact = await Contact.find_one(Contact.name == name)
    assert contact is not None
    found = await Conversation.find_one(Conversation.contact_id == contact.id)
    assert found is not None
    return found


async def user_id(email: str) -> PydanticObjectId:
    """The id of a demo login."""
    found = await User.find_one(User.email == email)
    assert found is not None and found.id is not None
    return found.id


async def test_the_demo_history_goes_through_the_pipeline(database: Database, now: datetime) -> None:
    data = demo_data()
    summary = await load_demo(now, BOX)
    assert summary.created["workspaces"] == 1 and summary.created["channels"] == 4
    workspace = await Workspace.find_one(Workspace.name == "demo")
    assert workspace is not None
    spoken = [m for c in data["conversations"] for m in c["messages"]]
    answers = sum("csat_answer" in c for c in data["conversations"])  # each answers a survey we sent
    assert answers >= 1 and summary.created["survey answers"] == answers
    inbound = await Message.find(Message.direction == Direction.INBOUND).count()
    assert inbound == sum(m["in"] for m in spoken) + answers
    outbound = await Message.find(Message.direction == Direction.OUTBOUND).count()
    assert outbound == sum(not m["in"] for m in spoken) + answers
    assert await Conversation.count() == len(data["conversations"])
    assert await Post.count() == len(data["posts"]) and await Comment.count() == 4
    wechat = await Message.find_one(Message.platform == "wechat", Message.direction == Direction.INBOUND)
    assert wechat is not None and any("\u4e00" <= ch <= "\u9fff" for ch in wechat.text), "decrypted safe-mode text"
    bob = await Contact.find_one(Contact.name == "Bob Martins")
    assert bob is not None and bob.email is None and "wholesale" in bob.tags
    assert await Comment.find(Comment.contact_id == bob.id).count() == 1, "Messenger and Page comments: one person"
    stored = await ChannelCredentials.get_pymongo_collection().find_one({})
    assert stored is not None and all(value.startswith("scrm1:") for value in stored["values"].values())
    for document in (d for d in COLLECTIONS[1:] if d is not User):
        assert await document.find({"workspace_id": {"$ne": workspace.id}}).count() == 0


async def test_demo_load_twice_changes_nothing(database: Database, now: datetime) -> None:
    first = await load_demo(now, BOX)
    assert first.created["teams"] == 2 and first.created["users"] == 1 + len(demo_data()["people"])
    before = {d.__name__: await d.count() for d in COLLECTIONS}
    conversations = [c.model_dump() for c in await Conversation.find().sort("+_id").to_list()]
    teams = [t.model_dump() for t in await Team.find().sort("+_id").to_list()]
    second = await load_demo(now + timedelta(hours=1), BOX)  # as the next `make run` does
    after = {d.__name__: await d.count() for d in COLLECTIONS}
    assert before == after
    assert sum(second.created.values()) == 0
    assert [c.model_dump() for c in await Conversation.find().sort("+_id").to_list()] == conversations
    assert [t.model_dump() for t in await Team.find().sort("+_id").to_list()] == teams  # no rotation taken


async def test_the_demo_team_works_the_inbox_by_round_robin(database: Database, now: datetime) -> None:
    data = demo_data()
    await load_demo(now, BOX)
    support, sales = await Team.find_one(Team.name == SUPPORT), await Team.find_one(Team.name == SALES)
    assert support is not None and sales is not None and support.auto_assign and sales.auto_assign
    ada, zhang, liu = [await user_id(p["email"]) for p in data["people"]]
    assert support.member_ids == [ada, zhang] and sales.member_ids == [liu]
    statuses = {a.user_id: a.status for a in await AgentAvailability.find().to_list()}
    assert statuses == {ada: AgentStatus.ONLINE, zhang: AgentStatus.ONLINE, liu: AgentStatus.AWAY}
    for agent, team in ((ada, support), (zhang, support), (liu, sales)):
        member = await Membership.find_one(Membership.user_id == agent)
        assert member is not None and member.role is Role.AGENT
        assert member.team_ids == [team.id] and member.channel_ids == team.channel_ids  # limited to its work
    handled = await Conversation.find({"channel_id": {"$in": support.channel_ids}}).to_list()
    assert len(handled) >= 4 and all(c.team_id == support.id for c in handled)
    turns = [c.assignee_id for c in sorted(handled, key=lambda c: c.last_inbound_at or now)]
    assert set(turns) == {ada, zhang}, "both online agents of Support were given conversations"
    assert sum(a == ada for a in turns) - sum(a == zhang for a in turns) in (-1, 0, 1), "in turn"
    queued = await Conversation.find({"channel_id": {"$in": sales.channel_ids}}).to_list()
    assert len(queued) == 2 and all(c.team_id == sales.id and c.assignee_id is None for c in queued), "liu is away"


@pytest.mark.parametrize("now", [WEDNESDAY_EVENING, SUNDAY_NIGHT], ids=["wednesday-17:30", "sunday-20:00"])
async def test_the_demo_sla_has_breached_and_at_risk_conversations(database: Database, now: datetime) -> None:
    await load_demo(now, BOX)
    hours = await BusinessHours.find_one({})
    policy = await SlaPolicy.find_one({})
    assert hours is not None and hours.timezone == "Asia/Shanghai" and len(hours.intervals) == 5 and hours.holidays
    assert policy is not None and policy.business_time and policy.first_response_minutes == 60
    breached = await Conversation.find(sla_filter("breached", now)).to_list()
    at_risk = await Conversation.find(sla_filter("at_risk", now)).to_list()
    bob, li, emma = [await conversation_of(name) for name in ("Bob Martins", "李娜", "Emma Brown")]
    assert bob.id in {c.id for c in breached}, "600 business minutes without an answer"
    assert {li.id, emma.id} <= {c.id for c in at_risk}
    assert li.sla is not None and li.sla.first_responded_at is not None and not li.sla.first_response_breached
    alice = await conversation_of("Alice Chen")
    assert alice.sla is not None and alice.sla.first_responded_at is not None, "the reply stopped the clock"
    sara = await conversation_of("Sara Ortiz")
    state = sla_status(sara.sla, now)
    assert sara.sla is not None and sara.sla.resolved_at is not None and state is not None
    assert state.state in (SlaState.MET, SlaState.BREACHED)


async def test_answered_demo_conversations_do_not_wait(database: Database, now: datetime) -> None:
    await load_demo(now, BOX)
    conversations = await Conversation.find_all().to_list()
    answered = [c for c in conversations if c.last_inbound_at is not None and c.last_message_at != c.last_inbound_at]
    unanswered = [c for c in conversations if c.last_inbound_at is not None and c.last_message_at == c.last_inbound_at]
    assert answered and unanswered
    assert all(c.waiting_since is None for c in answered if c.status.value != "resolved")
    assert all(c.waiting_since is not None for c in unanswered if c.status.value != "resolved")


def test_business_before_is_the_inverse_of_adding_business_time() -> None:
    office = make_schedule("Asia/Shanghai", {day: [(540, 1080)] for day in range(5)}, [date(2026, 10, 1)])
    for end in (WEDNESDAY_EVENING, SUNDAY_NIGHT, datetime(2026, 10, 2, 3, 0, tzinfo=UTC)):  # the last after a holiday
        for minutes in (0, 50, 600, 1200):
            start = business_before(office, end, timedelta(minutes=minutes))
            assert business_time_between(office, start, end) == timedelta(minutes=minutes)
            assert start == end or add_business_time(office, start, timedelta(minutes=minutes)) <= end


async def test_the_demo_has_an_answered_csat_survey(database: Database, now: datetime) -> None:
    await load_demo(now, BOX)
    workspace = await Workspace.find_one(Workspace.name == "demo")
    assert workspace is not None and workspace.csat.enabled
    sara = await conversation_of("Sara Ortiz")
    assert sara.status is ConversationStatus.RESOLVED, "the rating did not reopen it"
    survey = await CsatSurvey.find_one(CsatSurvey.conversation_id == sara.id)
    assert survey is not None and survey.status is SurveyStatus.ANSWERED and survey.rating == 5
    assert survey.answered_at is not None and survey.sent_at is not None and survey.answered_at > survey.sent_at
    row = await OutboundMessage.get(survey.outbound_id)
    assert row is not None and row.status is OutboundStatus.SENT, "never sent again by a running scrm"
    asked = await Message.find_one(Message.outbound_id == row.id)
    assert asked is not None and asked.conversation_id == sara.id and "1" in asked.text and "5" in asked.text


async def test_the_demo_agents_sign_in_and_see_their_teams_conversations(
    web: httpx.AsyncClient, database: Database, now: datetime
) -> None:
    await load_demo(now, BOX)
    logins = demo_logins()
    assert logins[0].email == DEMO_OWNER_EMAIL and [login.role for login in logins[1:]] == ["agent"] * 3
    alice, wang = await conversation_of("Alice Chen"), await conversation_of("王小明")
    for login, sees, hidden in ((logins[1], alice, wang), (logins[3], wang, alice)):
        web.cookies.clear()
        answer = await log_in(web, login.email, login.password, "/inbox")
        assert answer.status_code in (200, 303), answer.text
        listed = await web.get("/inbox/list", params={"status": "all"})
        assert listed.status_code == 200
        assert f'data-conversation="{sees.id}"' in listed.text
        assert f'data-conversation="{hidden.id}"' not in listed.text, f"{login.email} is limited to their team"
    assert (await web.get(f"/inbox/{alice.id}")).status_code == 404


def test_the_readme_gives_every_demo_login() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for login in demo_logins():
        assert f"**{login.email}** / **{login.password}**" in readme

"""SLA clocks through the real pipeline: started by the contact's message in business hours, stopped by the
team's reply and by resolving, breached from due times alone, unchanged by a replayed batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from scrm import pipeline
from scrm.auth.roles import Principal
from scrm.connectors.items import InboundMessage, Sender
from scrm.events import Where
from scrm.inbox import actions, bulk, replies, sla_settings
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.inbox.sla import SlaState, sla_status
from scrm.models import BusinessHours, Channel, Conversation, ConversationStatus, Message, Role, SlaClock
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in

# The fixed `now` is Wednesday 20 May 2026 09:30 UTC: 17:30 in Shanghai, half an hour before closing.
THURSDAY = datetime(2026, 5, 21, tzinfo=UTC)  # 08:00 in Shanghai on Thursday is 00:00 UTC
FIRST_RESPONSE_DUE = THURSDAY + timedelta(hours=1, minutes=30)  # 30 min on Wednesday + 30 min from 09:00 Thursday
FIRST_RESPONSE_WARN = THURSDAY + timedelta(hours=1, minutes=18)  # 48 of the 60 minutes used
RESOLUTION_DUE = THURSDAY + timedelta(hours=8, minutes=30)  # 16:30 in Shanghai: 30 min + 7 h 30 min
OFFICE = sla_settings.HoursForm(
    "Asia/Shanghai", [sla_settings.IntervalForm(day, "09:00", "18:00") for day in range(5)], ["2026-10-01"]
)
POLICY = sla_settings.PolicyForm("Support", True, 60, 480, business_time=True)
SETTINGS = "/inbox/settings/sla"


def owner(inbox: Inbox) -> Principal:
    """The workspace's owner, acting in the services."""
    return Principal(inbox.scope.workspace_id, Role.OWNER, "user:test")


async def configure(inbox: Inbox, now: datetime, policy: sla_settings.PolicyForm = POLICY) -> None:
    """Office hours in Shanghai on weekdays and a one-hour / eight-hour policy, saved as an admin would."""
    await sla_settings.save_hours(inbox.scope, OFFICE, now, "user:test")
    await sla_settings.save_policy(inbox.scope, policy, now, "user:test")


def message(external_id: str, at: datetime, thread: str = "chat-ada") -> InboundMessage:
    """A Telegram message from Ada."""
    return InboundMessage("telegram", external_id, thread, Sender("ada-1", display_name="Ada"), at, text="Help?")


async def arrive(inbox: Inbox, item: InboundMessage, now: datetime, channel: Channel | None = None) -> Conversation:
    """Carry one message through the pipeline and return its conversation."""
    channel = channel or inbox.telegram
    assert channel.id is not None
    await pipeline.process_many([(item, Where(inbox.scope.workspace_id, channel.id, channel.platform))], now)
    found = await inbox.scope.find_one(Conversation, {"external_id": item.conversation_id})
    assert found is not None
    return found


def clock_of(conversation: Conversation) -> SlaClock:
    """The conversation's SLA clock (it must have one)."""
    assert conversation.sla is not None
    return conversation.sla


async def listed(inbox: Inbox, wanted: str, at: datetime) -> set[str]:
    """The ids of the conversations the list's SLA filter shows at `at`."""
    found = await list_conversations(owner(inbox), InboxFilter(sla=wanted, now=at))
    return {str(row.conversation.id) for row in found.rows}


async def test_the_first_message_starts_the_clock_in_business_hours(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await arrive(inbox, message("m1", now), now)
    clock = clock_of(conversation)
    assert clock.started_at == now
    assert clock.first_response_due == FIRST_RESPONSE_DUE and clock.first_response_warn_at == FIRST_RESPONSE_WARN
    assert clock.resolution_due == RESOLUTION_DUE
    cid = str(conversation.id)
    states = {at: sla_status(clock, at) for at in (now, FIRST_RESPONSE_WARN, FIRST_RESPONSE_DUE)}
    assert [s.state if s else None for s in states.values()] == [SlaState.OK, SlaState.AT_RISK, SlaState.BREACHED]
    assert await listed(inbox, "breached", FIRST_RESPONSE_DUE - timedelta(seconds=1)) == set()
    assert await listed(inbox, "at_risk", FIRST_RESPONSE_DUE - timedelta(seconds=1)) == {cid}
    assert await listed(inbox, "at_risk", FIRST_RESPONSE_WARN - timedelta(seconds=1)) == set()
    assert await listed(inbox, "breached", FIRST_RESPONSE_DUE) == {cid}
    assert await listed(inbox, "at_risk", FIRST_RESPONSE_DUE) == set()


async def test_a_reply_in_time_stops_first_response_and_resolution_runs_on(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await arrive(inbox, message("m1", now), now)
    assert conversation.id is not None
    answered = THURSDAY + timedelta(hours=1)
    await replies.reply(owner(inbox), conversation.id, "Looking into it", "reply-key-1", answered)
    await replies.reply(owner(inbox), conversation.id, "Still here", "reply-key-2", answered + timedelta(hours=1))
    clock = clock_of(await actions.get_conversation(owner(inbox), conversation.id))
    assert clock.first_responded_at == answered and not clock.first_response_breached  # the second changed nothing
    assert clock.breached_at == RESOLUTION_DUE
    status = sla_status(clock, FIRST_RESPONSE_DUE + timedelta(minutes=1))
    assert status is not None and status.state is SlaState.OK and status.next_due == RESOLUTION_DUE
    assert await listed(inbox, "breached", FIRST_RESPONSE_DUE + timedelta(minutes=1)) == set()
    assert await listed(inbox, "breached", RESOLUTION_DUE) == {str(conversation.id)}


async def test_a_late_reply_leaves_the_cycle_breached(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await arrive(inbox, message("m1", now), now)
    assert conversation.id is not None
    late = FIRST_RESPONSE_DUE + timedelta(minutes=10)
    await replies.reply(owner(inbox), conversation.id, "Sorry for the wait", "reply-key-1", late)
    clock = clock_of(await actions.get_conversation(owner(inbox), conversation.id))
    assert clock.first_response_breached and clock.breached_at == FIRST_RESPONSE_DUE
    status = sla_status(clock, late)
    assert status is not None and status.state is SlaState.BREACHED


async def test_resolving_stops_resolution_one_at_a_time_and_in_bulk(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    ada = await arrive(inbox, message("m1", now), now)
    bo = await arrive(inbox, message("m2", now, "chat-bo"), now)
    assert ada.id is not None and bo.id is not None
    resolved_at = THURSDAY + timedelta(hours=5)
    ada = await actions.set_status(owner(inbox), ada.id, ConversationStatus.RESOLVED, resolved_at)
    clock = clock_of(ada)  # set_status returns the stopped clock
    assert clock.resolved_at == resolved_at and not clock.resolution_breached
    assert clock.first_response_breached  # nobody answered before the first response was due
    late = RESOLUTION_DUE + timedelta(minutes=1)
    assert await bulk.apply_to_many(owner(inbox), [bo.id], bulk.BulkChange(ConversationStatus.RESOLVED), late) == 1
    bo_clock = clock_of(await actions.get_conversation(owner(inbox), bo.id))
    assert bo_clock.resolved_at == late and bo_clock.resolution_breached


async def test_a_conversation_resolved_in_time_is_met(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await arrive(inbox, message("m1", now), now)
    assert conversation.id is not None
    await replies.reply(owner(inbox), conversation.id, "Done", "reply-key-1", now + timedelta(minutes=5))
    done = await actions.set_status(
        owner(inbox), conversation.id, ConversationStatus.RESOLVED, now + timedelta(minutes=6)
    )
    status = sla_status(done.sla, RESOLUTION_DUE + timedelta(days=1))
    assert status is not None and status.state is SlaState.MET and status.next_due is None
    assert clock_of(done).breached_at is None and clock_of(done).warn_at is None


async def test_a_replayed_batch_changes_nothing_and_a_new_message_starts_a_new_cycle(
    inbox: Inbox, now: datetime
) -> None:
    await configure(inbox, now)
    first = message("m1", now)
    conversation = await arrive(inbox, first, now)
    assert conversation.id is not None
    await replies.reply(owner(inbox), conversation.id, "On it", "reply-key-1", now + timedelta(minutes=5))
    resolved = await actions.set_status(
        owner(inbox), conversation.id, ConversationStatus.RESOLVED, now + timedelta(hours=1)
    )
    before = clock_of(resolved)
    # a crash before the batch was marked handled: the same batch comes again, later
    await Message.get_pymongo_collection().update_many({"external_id": "m1"}, {"$set": {"handled_at": None}})
    replayed = await arrive(inbox, first, now + timedelta(hours=2))
    assert clock_of(replayed) == before

    again = now + timedelta(hours=3)
    reopened = await arrive(inbox, message("m2", again), again)
    clock = clock_of(reopened)
    assert reopened.status is ConversationStatus.OPEN
    assert clock.started_at == again and clock.resolved_at is None and clock.first_responded_at is None
    assert clock.first_response_due == THURSDAY + timedelta(hours=2)  # 20:30 Wednesday: 10:00 Thursday in Shanghai
    await Message.get_pymongo_collection().update_many({"external_id": "m2"}, {"$set": {"handled_at": None}})
    replay_of_new = await arrive(inbox, message("m2", again), again + timedelta(minutes=1))
    assert clock_of(replay_of_new) == clock


async def test_without_a_policy_or_outside_its_channels_there_is_no_clock(inbox: Inbox, now: datetime) -> None:
    plain = await arrive(inbox, message("m1", now), now)
    assert plain.sla is None
    assert inbox.wechat.id is not None
    await configure(
        inbox, now, sla_settings.PolicyForm("WeChat only", True, 60, None, channel_ids=(str(inbox.wechat.id),))
    )
    other = await arrive(inbox, message("m2", now, "chat-bo"), now)
    assert other.sla is None


async def test_calendar_time_ignores_business_hours(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now, sla_settings.PolicyForm("24/7", True, 60, None, business_time=False))
    clock = clock_of(await arrive(inbox, message("m1", now), now))
    assert clock.first_response_due == now + timedelta(hours=1) and clock.resolution_due is None
    assert clock.warn_at == now + timedelta(minutes=48)


async def test_the_web_list_and_conversation_show_the_sla_chip_and_filter(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await configure(inbox, now)
    yesterday = now - timedelta(days=1)  # Tuesday 17:30 in Shanghai: first response was due Wednesday 09:30
    late = await arrive(inbox, message("m1", yesterday), yesterday)
    fresh = await arrive(inbox, message("m2", now, "chat-bo"), now)
    await signed_in(web, "admin")
    page = await web.get("/inbox")
    assert page.status_code == 200
    assert 'data-sla="ok"' in page.text and 'data-sla="breached"' in page.text
    assert "SLA: 16 h 0 min left" in page.text  # Bo: due tomorrow 09:30 in Shanghai, sixteen hours from now
    assert 'href="/inbox/settings/sla"' in page.text
    breached = await web.get("/inbox/list", params={"sla": "breached"})
    assert breached.status_code == 200
    assert f'data-conversation="{late.id}"' in breached.text and "SLA breached" in breached.text  # in words too
    assert f'data-conversation="{fresh.id}"' not in breached.text
    at_risk = await web.get("/inbox/list", params={"sla": "at_risk"})
    assert "data-conversation=" not in at_risk.text
    view = await web.get(f"/inbox/{late.id}", params={"sla": "breached"})
    assert view.status_code == 200 and 'data-sla="breached"' in view.text
    assert '<option value="breached" selected>' in view.text


async def test_admins_set_business_hours_and_the_policy_on_the_settings_page(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await signed_in(web, "admin")
    page = await web.get(SETTINGS, headers=HTML)
    assert page.status_code == 200 and 'id="sla-hours-form"' in page.text
    token = csrf_of(page)
    week = {f"day{d}": "09:00-12:00, 13:00-18:00" for d in range(5)}
    hours = {"csrf_token": token, "timezone": "Asia/Shanghai", **week, "holidays": "2026-10-01\n2026-10-02"}
    saved = await web.post(f"{SETTINGS}/hours", data=hours, headers=HTML)
    assert saved.status_code == 303 and saved.headers["location"] == f"{SETTINGS}?saved=hours"
    stored = await sla_settings.read_hours(inbox.scope)
    assert stored.timezone == "Asia/Shanghai" and stored.holidays == ["2026-10-01", "2026-10-02"]
    assert [(i.weekday, i.start, i.end) for i in stored.intervals][:2] == [(0, "09:00", "12:00"), (0, "13:00", "18:00")]
    assert inbox.wechat.id is not None
    policy = {"csrf_token": token, "name": "Support", "enabled": "1", "first_response_minutes": "30",
              "resolution_minutes": "", "business_time": "1", "channel_ids": [str(inbox.wechat.id)]}  # fmt: skip
    posted = await web.post(f"{SETTINGS}/policy", data=policy, headers=HTML)
    assert posted.status_code == 303, posted.text[-3000:]
    assert await sla_settings.read_policy(inbox.scope) == sla_settings.PolicyForm(
        "Support", True, 30, None, True, (str(inbox.wechat.id),)
    )
    shown = await web.get(SETTINGS, headers=HTML)
    assert 'value="09:00-12:00, 13:00-18:00"' in shown.text and 'value="30"' in shown.text


async def test_bad_settings_are_shown_again_with_the_reason_and_agents_are_kept_out(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    await signed_in(web, "admin")
    token = csrf_of(await web.get(SETTINGS, headers=HTML))
    overlapping = {"csrf_token": token, "timezone": "Asia/Shanghai", "day2": "09:00-13:00, 12:00-18:00"}
    refused = await web.post(f"{SETTINGS}/hours", data=overlapping, headers=HTML)
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert "Wednesday: 12:00–18:00 overlaps 09:00–13:00" in refused.text
    assert 'value="09:00-13:00, 12:00-18:00"' in refused.text  # what was typed is kept
    bad_zone = await web.post(
        f"{SETTINGS}/hours", data={"csrf_token": token, "timezone": "Asia/Atlantis"}, headers=HTML
    )
    assert bad_zone.status_code == 400 and "Unknown timezone" in bad_zone.text
    assert await inbox.scope.find_one(BusinessHours) is None
    no_target = {"csrf_token": token, "name": "Typed name", "enabled": "1", "first_response_minutes": ""}
    refused_policy = await web.post(f"{SETTINGS}/policy", data=no_target, headers=HTML)
    assert refused_policy.status_code == 400 and "needs a first response or a resolution target" in refused_policy.text
    assert 'value="Typed name"' in refused_policy.text
    assert (await sla_settings.read_policy(inbox.scope)).enabled is False
    await web.post("/logout", data={"csrf_token": token}, headers=HTML)
    await signed_in(web, "agent")
    assert (await web.get(SETTINGS, headers=HTML)).status_code == 403
    assert 'href="/inbox/settings/sla"' not in (await web.get("/inbox", headers=HTML)).text

"""SLA clocks pause while a conversation is pending or snoozed, and resume later by the business time paused.

The office of `test_sla` (Shanghai, weekdays 09:00–18:00) and its one-hour / eight-hour policy. The clock
starts at the fixed `now`, Wednesday 20 May 2026 17:30 in Shanghai: first response is due Thursday 09:30,
resolution Thursday 16:30. The pause begins at 17:45 on Wednesday, with 45 open minutes of first response
left (15 on Wednesday, 30 on Thursday) and 7 h 45 min of resolution.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from scrm.inbox import actions, bulk, sla, sla_settings
from scrm.inbox.business_hours import ScheduleError
from scrm.inbox.sla import SlaState, sla_status
from scrm.models import Conversation, ConversationStatus, Message
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in
from tests.inbox.test_sla import (
    FIRST_RESPONSE_DUE,
    POLICY,
    SETTINGS,
    arrive,
    clock_of,
    configure,
    listed,
    message,
    owner,
)

PAUSE = datetime(2026, 5, 20, 9, 45, tzinfo=UTC)  # Wednesday 17:45 in Shanghai
MONDAY_10 = datetime(2026, 5, 25, 2, 0, tzinfo=UTC)  # Monday 25 May 10:00 in Shanghai, after the weekend
SATURDAY = datetime(2026, 5, 23, 4, 0, tzinfo=UTC)
MOVED_FIRST_DUE = MONDAY_10 + timedelta(minutes=45)  # the 45 minutes left, from Monday 10:00
MOVED_FIRST_WARN = MONDAY_10 + timedelta(minutes=33)  # 15 + 18 minutes were left to the warning
MOVED_RESOLUTION_DUE = MONDAY_10 + timedelta(hours=7, minutes=45)  # Monday 17:45 in Shanghai


async def started(inbox: Inbox, now: datetime, thread: str = "chat-ada") -> Conversation:
    """A conversation whose clock started at `now`, under the office policy."""
    conversation = await arrive(inbox, message(f"m-{thread}", now, thread), now)
    assert conversation.id is not None and clock_of(conversation).first_response_due == FIRST_RESPONSE_DUE
    return conversation


async def reread(inbox: Inbox, conversation: Conversation) -> Conversation:
    """The conversation as stored now."""
    assert conversation.id is not None
    return await actions.get_conversation(owner(inbox), conversation.id)


async def test_pending_pauses_and_reopening_moves_the_due_times_by_the_open_hours_paused(
    inbox: Inbox, now: datetime
) -> None:
    await configure(inbox, now)
    conversation = await started(inbox, now)
    assert conversation.id is not None
    pending = await actions.set_status(owner(inbox), conversation.id, ConversationStatus.PENDING, PAUSE)
    clock = clock_of(pending)
    assert clock.paused_at == PAUSE and clock.warn_at is None and clock.breached_at is None
    assert clock.first_response_due == FIRST_RESPONSE_DUE  # standing still, not moved yet
    status = sla_status(clock, SATURDAY)  # long past the old due times
    assert status is not None and status.state is SlaState.PAUSED and status.next_due is None
    assert await listed(inbox, "breached", SATURDAY) == set()
    assert await listed(inbox, "at_risk", FIRST_RESPONSE_DUE - timedelta(minutes=1)) == set()

    reopened = await actions.set_status(owner(inbox), conversation.id, ConversationStatus.OPEN, MONDAY_10)
    clock = clock_of(reopened)
    # 19 h 15 min of open time passed (Wednesday 15 min, Thursday and Friday 9 h each, Monday 1 h), not the
    # 4 days 16 h 15 min of calendar time: the weekend and the nights add nothing.
    assert clock.paused_at is None
    assert clock.first_response_due == MOVED_FIRST_DUE and clock.first_response_warn_at == MOVED_FIRST_WARN
    assert clock.resolution_due == MOVED_RESOLUTION_DUE
    assert clock.breached_at == MOVED_FIRST_DUE and clock.warn_at == MOVED_FIRST_WARN
    status = sla_status(clock, MONDAY_10)
    assert status is not None and status.state is SlaState.OK and status.next_due == MOVED_FIRST_DUE
    cid = str(conversation.id)
    assert await listed(inbox, "breached", MOVED_FIRST_DUE - timedelta(seconds=1)) == set()
    assert await listed(inbox, "at_risk", MOVED_FIRST_DUE - timedelta(seconds=1)) == {cid}
    assert await listed(inbox, "breached", MOVED_FIRST_DUE) == {cid}


async def test_calendar_time_moves_the_due_times_by_the_whole_pause(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now, sla_settings.PolicyForm("24/7", True, 60, None, business_time=False))
    conversation = await arrive(inbox, message("m1", now), now)
    assert conversation.id is not None
    due = clock_of(conversation).first_response_due
    assert due == now + timedelta(hours=1)
    await actions.set_status(owner(inbox), conversation.id, ConversationStatus.PENDING, now + timedelta(minutes=10))
    back = now + timedelta(hours=2, minutes=10)
    clock = clock_of(await actions.set_status(owner(inbox), conversation.id, ConversationStatus.OPEN, back))
    assert clock.first_response_due == due + timedelta(hours=2) and clock.paused_at is None


async def test_a_snooze_that_wakes_resumes_from_its_end(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await started(inbox, now)
    assert conversation.id is not None
    snoozed = await actions.set_status(owner(inbox), conversation.id, ConversationStatus.SNOOZED, PAUSE, MONDAY_10)
    assert clock_of(snoozed).paused_at == PAUSE
    late_run = MONDAY_10 + timedelta(minutes=7)  # the waker runs a little after the snooze ended
    assert await actions.wake_snoozed(late_run) == 1
    woken = await reread(inbox, conversation)
    assert woken.status is ConversationStatus.OPEN
    clock = clock_of(woken)
    assert clock.paused_at is None and clock.first_response_due == MOVED_FIRST_DUE  # from 10:00, not 10:07
    assert clock.resolution_due == MOVED_RESOLUTION_DUE
    assert await actions.wake_snoozed(late_run) == 0
    assert clock_of(await reread(inbox, conversation)) == clock


async def test_the_contacts_message_resumes_a_snoozed_or_pending_clock(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    ada = await started(inbox, now)
    bo = await started(inbox, now, "chat-bo")
    assert ada.id is not None and bo.id is not None
    await actions.set_status(owner(inbox), ada.id, ConversationStatus.SNOOZED, PAUSE, MONDAY_10)
    await actions.set_status(owner(inbox), bo.id, ConversationStatus.PENDING, PAUSE)
    friday_10 = datetime(2026, 5, 22, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai: 10 h 15 min open paused
    ada = await arrive(inbox, message("m2", friday_10), friday_10)
    assert ada.status is ConversationStatus.OPEN  # the message ends the snooze
    assert clock_of(ada).paused_at is None
    assert clock_of(ada).first_response_due == friday_10 + timedelta(minutes=45)
    bo = await arrive(inbox, message("m3", friday_10, "chat-bo"), friday_10)
    assert bo.status is ConversationStatus.OPEN  # the contact answered: the wait on them is over
    assert clock_of(bo).paused_at is None and clock_of(bo).resolution_due == friday_10 + timedelta(hours=7, minutes=45)

    # Paused again; the batch of the earlier message comes again (a crash before it was marked handled): its
    # message was written before this pause, so it resumes nothing.
    again = friday_10 + timedelta(hours=1)
    assert bo.id is not None
    await actions.set_status(owner(inbox), bo.id, ConversationStatus.PENDING, again)
    await Message.get_pymongo_collection().update_many({"external_id": "m3"}, {"$set": {"handled_at": None}})
    replayed = await arrive(inbox, message("m3", friday_10, "chat-bo"), again + timedelta(minutes=5))
    assert clock_of(replayed).paused_at == again


async def test_racing_resumes_move_the_due_times_once(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await started(inbox, now)
    assert conversation.id is not None
    await actions.set_status(owner(inbox), conversation.id, ConversationStatus.PENDING, PAUSE)
    stale = await Conversation.get_pymongo_collection().find_one({"_id": conversation.id})
    assert stale is not None and stale["sla"]["paused_at"] == PAUSE
    await Conversation.get_pymongo_collection().update_one({"_id": conversation.id}, {"$set": {"status": "open"}})
    target = {"_id": conversation.id}
    workspace = inbox.scope.workspace_id
    counts = await asyncio.gather(
        sla.follow_statuses(target, workspace, MONDAY_10), sla.follow_statuses(target, workspace, MONDAY_10)
    )
    assert sorted(counts) == [0, 1]
    # A resume that read the pause before the others wrote is refused by its condition, later too.
    assert await sla.resume_clocks([stale], {}, lambda _: MONDAY_10) == 0
    clock = clock_of(await reread(inbox, conversation))
    assert clock.first_response_due == MOVED_FIRST_DUE and clock.resolution_due == MOVED_RESOLUTION_DUE


async def test_bulk_pending_pauses_and_bulk_reopen_resumes(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    ada = await started(inbox, now)
    bo = await started(inbox, now, "chat-bo")
    assert ada.id is not None and bo.id is not None
    pending = bulk.BulkChange(ConversationStatus.PENDING)
    assert await bulk.apply_to_many(owner(inbox), [ada.id, bo.id], pending, PAUSE) == 2
    paused = [clock_of(await reread(inbox, c)) for c in (ada, bo)]
    assert [c.paused_at for c in paused] == [PAUSE, PAUSE]
    assert await listed(inbox, "breached", SATURDAY) == set()
    reopen = bulk.BulkChange(ConversationStatus.OPEN)
    assert await bulk.apply_to_many(owner(inbox), [ada.id, bo.id], reopen, MONDAY_10) == 2
    for conversation in (ada, bo):
        clock = clock_of(await reread(inbox, conversation))
        assert clock.paused_at is None and clock.first_response_due == MOVED_FIRST_DUE


async def test_a_breach_before_the_pause_stays_breached(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await started(inbox, now)
    assert conversation.id is not None
    after_due = FIRST_RESPONSE_DUE + timedelta(minutes=30)  # Thursday 10:00: first response already late
    clock = clock_of(await actions.set_status(owner(inbox), conversation.id, ConversationStatus.PENDING, after_due))
    assert clock.paused_at == after_due and clock.breached_at == FIRST_RESPONSE_DUE
    status = sla_status(clock, SATURDAY)
    assert status is not None and status.state is SlaState.BREACHED
    assert await listed(inbox, "breached", SATURDAY) == {str(conversation.id)}
    clock = clock_of(await actions.set_status(owner(inbox), conversation.id, ConversationStatus.OPEN, MONDAY_10))
    assert clock.first_response_due == FIRST_RESPONSE_DUE  # already due at the pause: not moved
    assert clock.resolution_due == MONDAY_10 + timedelta(hours=6, minutes=30)  # 6 h 30 min were left at 10:00


async def test_resolving_while_paused_judges_the_targets_at_the_pause(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    in_time = await started(inbox, now)
    late = await started(inbox, now, "chat-bo")
    assert in_time.id is not None and late.id is not None
    await actions.set_status(owner(inbox), in_time.id, ConversationStatus.PENDING, PAUSE)
    after_due = FIRST_RESPONSE_DUE + timedelta(minutes=30)
    await actions.set_status(owner(inbox), late.id, ConversationStatus.PENDING, after_due)
    resolved = await actions.set_status(owner(inbox), in_time.id, ConversationStatus.RESOLVED, MONDAY_10)
    clock = clock_of(resolved)
    assert clock.resolved_at == MONDAY_10 and clock.paused_at == PAUSE
    assert not clock.first_response_breached and not clock.resolution_breached  # days later, but in time at the pause
    status = sla_status(clock, MONDAY_10)
    assert status is not None and status.state is SlaState.MET and clock.breached_at is None
    change = bulk.BulkChange(ConversationStatus.RESOLVED)
    assert await bulk.apply_to_many(owner(inbox), [late.id], change, MONDAY_10) == 1
    late_clock = clock_of(await reread(inbox, late))
    assert late_clock.first_response_breached and not late_clock.resolution_breached
    assert late_clock.breached_at == FIRST_RESPONSE_DUE


async def test_a_reply_while_paused_is_judged_at_the_pause(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now)
    conversation = await started(inbox, now)
    assert conversation.id is not None
    await actions.set_status(owner(inbox), conversation.id, ConversationStatus.PENDING, PAUSE)
    await sla.note_first_response(inbox.scope.workspace_id, conversation.id, SATURDAY)
    clock = clock_of(await reread(inbox, conversation))
    assert clock.first_responded_at == SATURDAY and not clock.first_response_breached
    status = sla_status(clock, SATURDAY)
    assert status is not None and status.state is SlaState.PAUSED  # resolution still stands still


async def test_the_policy_chooses_which_statuses_pause(inbox: Inbox, now: datetime) -> None:
    await configure(inbox, now, sla_settings.PolicyForm("No pauses", True, 60, 480, pause_on=()))
    conversation = await started(inbox, now)
    assert conversation.id is not None
    for status in (ConversationStatus.PENDING, ConversationStatus.SNOOZED):
        changed = await actions.set_status(owner(inbox), conversation.id, status, PAUSE, MONDAY_10)
        assert clock_of(changed).paused_at is None
    assert await listed(inbox, "breached", SATURDAY) == {str(conversation.id)}  # the clock ran on

    await configure(inbox, now, sla_settings.PolicyForm("Snooze only", True, 60, 480, pause_on=("snoozed",)))
    other = await started(inbox, now, "chat-bo")
    assert other.id is not None
    pending = await actions.set_status(owner(inbox), other.id, ConversationStatus.PENDING, PAUSE)
    assert clock_of(pending).paused_at is None
    snoozed = await actions.set_status(owner(inbox), other.id, ConversationStatus.SNOOZED, PAUSE, MONDAY_10)
    assert clock_of(snoozed).paused_at == PAUSE
    back = await actions.set_status(owner(inbox), other.id, ConversationStatus.PENDING, MONDAY_10)
    assert clock_of(back).paused_at is None and clock_of(back).first_response_due == MOVED_FIRST_DUE
    assert (await sla_settings.read_policy(inbox.scope)).pause_on == ("snoozed",)
    try:
        await sla_settings.save_policy(inbox.scope, sla_settings.PolicyForm(pause_on=("open",)), now, "user:test")
    except ScheduleError as exc:
        assert "Only pending and snoozed can pause" in str(exc)
    else:
        raise AssertionError("open was accepted as a pausing status")


async def test_the_page_and_the_api_show_the_pause_and_the_setting_is_edited_on_the_page(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await configure(inbox, now)
    conversation = await started(inbox, now)
    assert conversation.id is not None
    await actions.set_status(owner(inbox), conversation.id, ConversationStatus.PENDING, now)
    await signed_in(web, "admin")
    page = await web.get("/inbox/list", params={"status": "pending"}, headers=HTML)
    assert 'data-sla="paused"' in page.text and "SLA paused" in page.text
    chinese = await web.get("/inbox/list", params={"status": "pending"}, headers={**HTML, "accept-language": "zh-CN"})
    assert "SLA 已暂停" in chinese.text
    view = await web.get(f"/inbox/{conversation.id}", headers=HTML)
    assert 'data-sla="paused"' in view.text
    api = await web.get(f"/api/v1/conversations/{conversation.id}", headers=inbox.bearer("admin"))
    assert api.status_code == 200, api.text
    shown = api.json()["sla"]
    assert shown["state"] == "paused" and shown["due_at"] is None and shown["paused_at"] == "2026-05-20T09:30:00Z"

    settings = await web.get(SETTINGS, headers=HTML)
    assert (
        'id="sla-pause-pending"' in settings.text and "checked" in settings.text.split('id="sla-pause-pending"')[1][:80]
    )
    token = csrf_of(settings)
    form = {"csrf_token": token, "name": "Support", "enabled": "1", "first_response_minutes": "60",
            "resolution_minutes": "480", "business_time": "1", "pause_on": ["", "snoozed"]}  # fmt: skip
    saved = await web.post(f"{SETTINGS}/policy", data=form, headers=HTML)
    assert saved.status_code == 303, saved.text[-2000:]
    assert (await sla_settings.read_policy(inbox.scope)).pause_on == ("snoozed",)
    none_ticked = await web.post(f"{SETTINGS}/policy", data={**form, "pause_on": ""}, headers=HTML)
    assert none_ticked.status_code == 303
    assert (await sla_settings.read_policy(inbox.scope)).pause_on == ()
    shown_again = await web.get(SETTINGS, headers=HTML)
    assert "checked" not in shown_again.text.split('id="sla-pause-snoozed"')[1][:60]
    assert POLICY.pause_on == ("pending", "snoozed")  # the default, for policies stored before the setting

"""Waiting time: set by the contact's first unanswered message, cleared by an agent's reply, sorted on (longest
first, the others after by activity, cursors exact across both), shown as a chip, and backfilled once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest
from beanie import PydanticObjectId
from click.testing import CliRunner

from scrm import pipeline
from scrm.auth.roles import Principal
from scrm.cli import main
from scrm.connectors.items import InboundMessage, Sender
from scrm.events import Where
from scrm.inbox import replies
from scrm.inbox.conversations import InboxFilter, InboxInputError, list_conversations
from scrm.inbox.waiting import backfill_waiting, waited
from scrm.models import Contact, Conversation, ConversationStatus, Role
from scrm.web import i18n
from tests.auth.forms import HTML
from tests.inbox.conftest import Inbox, signed_in, talk

URL = "/api/v1/conversations"


def owner(inbox: Inbox) -> Principal:
    """The workspace's owner, acting in the services."""
    return Principal(inbox.scope.workspace_id, Role.OWNER, "user:test")


def message(external_id: str, at: datetime, sender: str = "ada-1", thread: str = "chat-ada") -> InboundMessage:
    """A Telegram message from `sender` in `thread`."""
    return InboundMessage("telegram", external_id, thread, Sender(sender, display_name=sender), at, text="Hello?")


async def arrive(inbox: Inbox, now: datetime, *items: InboundMessage) -> Conversation:
    """Carry the messages through the pipeline as one batch and return the first one's conversation."""
    assert inbox.telegram.id is not None
    where = Where(inbox.scope.workspace_id, inbox.telegram.id, "telegram")
    await pipeline.process_many([(item, where) for item in items], now)
    found = await inbox.scope.find_one(Conversation, {"external_id": items[0].conversation_id})
    assert found is not None
    return found


async def test_the_first_unanswered_message_starts_the_wait_and_a_reply_ends_it(inbox: Inbox, now: datetime) -> None:
    first = now - timedelta(minutes=30)
    # two messages in one batch, the later one first: the wait starts at the earlier
    conversation = await arrive(inbox, now, message("m2", first + timedelta(minutes=1)), message("m1", first))
    assert conversation.waiting_since == first
    conversation = await arrive(inbox, now, message("m3", now - timedelta(minutes=5)))
    assert conversation.waiting_since == first  # still the same wait
    assert conversation.id is not None
    await replies.reply(owner(inbox), conversation.id, "On it!", "reply-key-1", now)
    answered = await inbox.scope.get(Conversation, conversation.id)
    assert answered.waiting_since is None
    later = now + timedelta(minutes=10)
    again = await arrive(inbox, later, message("m4", later))
    assert again.waiting_since == later  # a new wait after the answer


async def test_a_reply_does_not_end_a_wait_that_started_after_it(inbox: Inbox, now: datetime) -> None:
    conversation = await arrive(inbox, now, message("m1", now + timedelta(minutes=1)))
    assert conversation.id is not None
    await replies.reply(owner(inbox), conversation.id, "Answering the earlier question", "reply-key-2", now)
    assert (await inbox.scope.get(Conversation, conversation.id)).waiting_since == now + timedelta(minutes=1)


async def test_a_blocked_contacts_message_sets_no_wait(inbox: Inbox, now: datetime) -> None:
    conversation = await arrive(inbox, now, message("m1", now - timedelta(minutes=3)))
    assert conversation.id is not None
    await replies.reply(owner(inbox), conversation.id, "Hi", "reply-key-3", now)
    await inbox.scope.find(Contact, {"_id": conversation.contact_id}).update({"$set": {"blocked": True}})
    later = await arrive(inbox, now, message("m2", now - timedelta(minutes=1)))
    assert later.waiting_since is None and later.last_message_preview == "Hello?"


async def wait(inbox: Inbox, name: str, since: datetime | None) -> None:
    """Say since when the conversation with `name` waits (None: it does not)."""
    await inbox.scope.find(Conversation, {"_id": inbox.oid(name)}).update({"$set": {"waiting_since": since}})


async def waiting_world(inbox: Inbox, now: datetime) -> list[str]:
    """Open conversations: Li waits 3 h, Mia and Kim both 2 h (a tie), Ann and Bo wait for nothing.

    Returns the names in `sort=waiting` order: the waits longest first (the tie by id), then by last activity.
    """
    await talk(inbox, inbox.telegram, "Kim", now - timedelta(minutes=50), [("Price?", None)])
    await talk(inbox, inbox.telegram, "Ann", now - timedelta(minutes=1), [("Thanks", None)])
    await talk(inbox, inbox.wechat, "Bo", now - timedelta(hours=5), [("好的", None)])
    await wait(inbox, "Li", now - timedelta(hours=3))
    await wait(inbox, "Mia", now - timedelta(hours=2))
    await wait(inbox, "Kim", now - timedelta(hours=2))
    tie = sorted(["Mia", "Kim"], key=inbox.oid)
    return ["Li", *tie, "Ann", "Bo"]


async def test_sort_waiting_lists_the_longest_wait_first_and_pages_exactly(inbox: Inbox, now: datetime) -> None:
    expected = await waiting_world(inbox, now)
    by_id = {inbox.oid(name): name for name in inbox.conversations}
    wanted = InboxFilter(status=ConversationStatus.OPEN, sort="waiting")
    whole = await list_conversations(owner(inbox), wanted)
    assert [by_id[r.conversation.id] for r in whole.rows if r.conversation.id] == expected
    assert whole.next_cursor is None
    recent = await list_conversations(owner(inbox), InboxFilter(status=ConversationStatus.OPEN))
    assert [by_id[r.conversation.id] for r in recent.rows if r.conversation.id][:2] == ["Ann", "Mia"]
    for size in (1, 2, 3):  # pages that end inside the waits, at their end, and across both ranges
        seen: list[PydanticObjectId] = []
        cursor = None
        while True:
            page = await list_conversations(owner(inbox), wanted, cursor, limit=size)
            seen += [r.conversation.id for r in page.rows if r.conversation.id]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert [by_id[i] for i in seen] == expected, size


async def test_sort_waiting_keeps_an_agents_reach_and_refuses_foreign_cursors(inbox: Inbox, now: datetime) -> None:
    await waiting_world(inbox, now)
    assert inbox.telegram.id is not None
    agent = Principal(inbox.scope.workspace_id, Role.AGENT, "user:agent", channel_ids=frozenset({inbox.telegram.id}))
    found = await list_conversations(agent, InboxFilter(status=ConversationStatus.OPEN, sort="waiting"))
    assert {r.conversation.channel_id for r in found.rows} == {inbox.telegram.id} and len(found.rows) == 3
    recent = await list_conversations(owner(inbox), InboxFilter(), limit=1)
    assert recent.next_cursor is not None
    with pytest.raises(InboxInputError, match="Invalid cursor"):
        await list_conversations(owner(inbox), InboxFilter(sort="waiting"), recent.next_cursor)
    with pytest.raises(InboxInputError, match="Invalid cursor"):
        await list_conversations(owner(inbox), InboxFilter(sort="waiting"), "ibogus")
    with pytest.raises(InboxInputError, match="Unknown sort"):
        await list_conversations(owner(inbox), InboxFilter(sort="oldest"))


async def test_the_api_sorts_by_waiting_and_shows_the_wait(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    expected = await waiting_world(inbox, now)
    by_id = {inbox.cid(name): name for name in inbox.conversations}
    wanted: dict[str, str | int] = {"status": "open", "sort": "waiting", "limit": 2}
    response = await web.get(URL, params=wanted, headers=inbox.bearer("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [by_id[item["id"]] for item in body["items"]] == expected[:2]
    assert body["items"][0]["waiting_since"].startswith((now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    rest = await web.get(
        URL, params={"status": "open", "sort": "waiting", "cursor": body["next_cursor"]}, headers=inbox.bearer("admin")
    )
    assert [by_id[item["id"]] for item in rest.json()["items"]] == expected[2:]
    assert rest.json()["items"][-1]["waiting_since"] is None
    bad = await web.get(URL, params={"sort": "oldest"}, headers=inbox.bearer("admin"))
    assert bad.status_code == 400


def listed(page: httpx.Response) -> list[str]:
    """The contact names in the page's conversation list, in order."""
    return re.findall(r'<strong class="conv-name">([^<]+)</strong>', page.text)


async def test_the_web_list_sorts_by_waiting_with_a_chip_in_both_languages(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    expected = await waiting_world(inbox, now)
    await signed_in(web, "admin")
    page = await web.get("/inbox", params={"sort": "waiting"}, headers=HTML)
    assert page.status_code == 200 and listed(page) == expected
    assert '<option value="waiting" selected>' in page.text
    assert 'class="chip chip-waiting"' in page.text and "waiting 3 h" in page.text and "waiting 2 h" in page.text
    assert "sort=waiting" in page.text  # the links keep the sort
    fragment = await web.get("/inbox/list", params={"sort": "waiting"}, headers={**HTML, "hx-request": "true"})
    assert listed(fragment) == expected
    default = await web.get("/inbox", headers=HTML)
    assert listed(default)[:2] == ["Ann", "Mia"] and '<option value="recent" selected>' in default.text
    web.cookies.set(i18n.COOKIE, "zh-CN")
    chinese = await web.get("/inbox", params={"sort": "waiting"}, headers=HTML)
    assert "已等待 3 小时" in chinese.text and "等待最久" in chinese.text


async def test_the_filter_form_has_a_blocked_contacts_checkbox(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await inbox.scope.find(Contact, {"_id": inbox.conversations["Li"].contact_id}).update({"$set": {"blocked": True}})
    await signed_in(web, "admin")
    page = await web.get("/inbox", headers=HTML)
    assert 'name="blocked" value="1" id="filter-blocked" >' in page.text and "Blocked contacts" in page.text
    assert listed(page) == ["Mia"]
    blocked = await web.get("/inbox", params={"blocked": "1"}, headers=HTML)
    assert listed(blocked) == ["Li"] and 'id="filter-blocked" checked>' in blocked.text
    web.cookies.set(i18n.COOKIE, "zh-CN")
    assert "已屏蔽的联系人" in (await web.get("/inbox", headers=HTML)).text


def test_the_chip_reads_minutes_hours_then_days(now: datetime) -> None:
    assert waited(None, now) is None
    assert waited(now - timedelta(minutes=59), now) == waited(now - timedelta(seconds=3599), now)
    assert (w := waited(now - timedelta(minutes=59), now)) is not None and (w.unit, w.amount) == ("minutes", 59)
    assert (w := waited(now - timedelta(hours=47, minutes=59), now)) is not None and (w.unit, w.amount) == ("hours", 47)
    assert (w := waited(now - timedelta(days=3, hours=5), now)) is not None and (w.unit, w.amount) == ("days", 3)


async def test_the_backfill_gives_older_conversations_their_wait_once(inbox: Inbox, now: datetime) -> None:
    collection = Conversation.get_pymongo_collection()
    await collection.update_many({"workspace_id": inbox.scope.workspace_id}, {"$unset": {"waiting_since": ""}})
    answered = now - timedelta(minutes=1)  # we answered Li after her message: her last message is ours
    await collection.update_one({"_id": inbox.oid("Li")}, {"$set": {"last_message_at": answered}})
    assert await backfill_waiting(inbox.scope.workspace_id) == 2  # Mia and Sam wrote last
    mia, li, sam = [await inbox.scope.get(Conversation, inbox.oid(name)) for name in ("Mia", "Li", "Sam")]
    assert mia.waiting_since == mia.last_inbound_at and sam.waiting_since == sam.last_inbound_at
    assert li.waiting_since is None
    assert await collection.count_documents({"_id": inbox.oid("Li"), "waiting_since": {"$exists": True}}) == 1
    assert await backfill_waiting(inbox.scope.workspace_id) == 0  # idempotent
    found = await list_conversations(owner(inbox), InboxFilter(status=ConversationStatus.OPEN, sort="waiting"))
    assert [r.conversation.id for r in found.rows] == [inbox.oid("Mia"), inbox.oid("Li")]


def test_the_backfill_is_a_command_of_the_inbox_group() -> None:
    listed_commands = CliRunner().invoke(main, ["inbox", "--help"])
    assert listed_commands.exit_code == 0 and "backfill-waiting" in listed_commands.output
    help_text = CliRunner().invoke(main, ["inbox", "backfill-waiting", "--help"])
    assert help_text.exit_code == 0 and "Idempotent" in help_text.output

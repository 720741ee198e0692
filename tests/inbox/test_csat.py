"""CSAT: resolving sends one survey through the outbox to the platform, and the customer's rating comes back.

Only the platform is faked (respx answers Telegram's Bot API); the outbox, delivery, the pipeline and MongoDB
are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import respx
from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.connectors.items import InboundMessage, Sender
from scrm.db import Database
from scrm.delivery import deliver_due
from scrm.events import Where
from scrm.inbox.actions import set_status
from scrm.inbox.bulk import BulkChange, apply_to_many
from scrm.inbox.csat import save_csat_settings
from scrm.inbox.csat_ratings import parse_rating
from scrm.models import (
    Contact,
    Conversation,
    ConversationStatus,
    CsatSettings,
    CsatSurvey,
    Message,
    OutboundMessage,
    Role,
    SurveyStatus,
)
from scrm.models.csat import DEFAULT_QUESTION_EN, DEFAULT_QUESTION_ZH
from scrm.pipeline import process
from scrm.web import i18n
from tests import platform_fakes
from tests.auth.forms import HTML, csrf_of
from tests.delivery_fixtures import TELEGRAM_SEND, Person, delivery, person, telegram_sent
from tests.inbox.conftest import Inbox, signed_in
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel

RESOLVED = ConversationStatus.RESOLVED


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client delivery sends through; respx answers for Telegram."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def telegram(database: Database) -> platform_fakes.TestChannel:
    """A Telegram bot channel, its workspace asking for surveys."""
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    await save_csat_settings(channel.workspace_id, CsatSettings(enabled=True))
    return channel


def admin(channel: platform_fakes.TestChannel) -> Principal:
    """An admin of the channel's workspace."""
    return Principal(workspace_id=channel.workspace_id, role=Role.ADMIN, actor="user:test")


def inbound(text: str, at: datetime, message_id: str, chat: str = "777") -> InboundMessage:
    """A private Telegram message from the chat `chat`, as the connector parses one."""
    return InboundMessage(
        platform="telegram", external_id=message_id, conversation_id=chat, sender=Sender(chat), at=at, text=text
    )


def where(channel: platform_fakes.TestChannel) -> Where:
    """Where the channel's items happen."""
    return Where(channel.workspace_id, channel.id, "telegram")


async def conversation_of(who: Person) -> Conversation:
    """The person's conversation as stored now."""
    found = await Conversation.get(who.conversation_id)
    assert found is not None
    return found


async def surveys_of(who: Person) -> list[CsatSurvey]:
    """The surveys of the person's conversation, oldest first."""
    return await CsatSurvey.find({"conversation_id": who.conversation_id}).sort("+created_at").to_list()


@respx.mock
async def test_resolving_sends_one_survey_to_the_platform_even_when_resolved_twice(
    telegram: platform_fakes.TestChannel, http: httpx.AsyncClient, now: datetime
) -> None:
    route = respx.post(TELEGRAM_SEND).mock(side_effect=telegram_sent)
    mia = await person(telegram, "777", now - timedelta(minutes=10))
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now + timedelta(seconds=1))  # a double click
    await apply_to_many(admin(telegram), [mia.conversation_id], BulkChange(status=RESOLVED), now)  # and the list

    assert await deliver_due(delivery(http, now), now) == 1
    assert await deliver_due(delivery(http, now), now) == 0
    assert route.call_count == 1
    assert json.loads(route.calls[0].request.content) == {"chat_id": "777", "text": DEFAULT_QUESTION_EN}
    assert await OutboundMessage.find({"conversation_id": mia.conversation_id}).count() == 1
    [survey] = await surveys_of(mia)
    assert survey.status is SurveyStatus.SENT and survey.sent_at == now and survey.rating is None
    assert survey.outbound_id is not None and survey.expires_at is not None and survey.expires_at > now


async def test_no_survey_while_the_workspace_has_not_turned_them_on(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    await save_csat_settings(telegram.workspace_id, CsatSettings(enabled=False))
    mia = await person(telegram, "777", now - timedelta(minutes=10))
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    assert await OutboundMessage.count() == 0 and await surveys_of(mia) == []


async def test_a_closed_messaging_window_sends_no_survey_and_says_why(database: Database, now: datetime) -> None:
    wechat = await make_channel("wechat", {"app_id": "wx1", "app_secret": "s", "token": "t"})
    await save_csat_settings(wechat.workspace_id, CsatSettings(enabled=True))
    li = await person(wechat, "openid-li", now - timedelta(hours=50))
    await set_status(admin(wechat), li.conversation_id, RESOLVED, now)
    [survey] = await surveys_of(li)
    assert survey.status is SurveyStatus.SKIPPED and survey.outbound_id is None
    assert "48-hour customer-service window" in survey.skipped_reason and "50 hours ago" in survey.skipped_reason
    assert await OutboundMessage.count() == 0


async def test_a_blocked_contact_gets_no_survey_and_the_reason_says_so(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    mia = await person(telegram, "777", now - timedelta(minutes=10), blocked=True)
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    [survey] = await surveys_of(mia)
    assert survey.status is SurveyStatus.SKIPPED and survey.skipped_reason == "the contact is blocked"
    assert await OutboundMessage.count() == 0


async def test_an_inbound_rating_answers_the_survey_and_leaves_the_conversation_resolved(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    mia = await person(telegram, "777", now - timedelta(minutes=10))
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    later = now + timedelta(minutes=3)
    item = inbound("5", later, "msg-5")

    assert await process(item, where(telegram), later) is not None
    assert await process(item, where(telegram), later) is None  # a redelivery changes nothing

    [survey] = await surveys_of(mia)
    assert survey.status is SurveyStatus.ANSWERED and survey.rating == 5 and survey.comment == ""
    assert survey.answered_at == later
    message = await Message.find_one({"conversation_id": mia.conversation_id, "text": "5"})
    assert message is not None and survey.answer_message_id == message.id
    conversation = await conversation_of(mia)
    assert conversation.status is RESOLVED and conversation.last_inbound_at == later  # the window counts it

    await set_status(admin(telegram), mia.conversation_id, RESOLVED, later)  # nothing new from the customer
    assert len(await surveys_of(mia)) == 1


async def test_a_chinese_rating_with_words_is_understood_and_kept_as_a_comment(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    mia = await person(telegram, "777", now - timedelta(minutes=10))
    await Contact.find({"_id": mia.contact_id}).update({"$set": {"language": "zh"}})
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    row = await OutboundMessage.find_one({"conversation_id": mia.conversation_id})
    assert row is not None and row.payload["text"] == DEFAULT_QUESTION_ZH

    await process(inbound("非常满意 5分", now + timedelta(minutes=1), "msg-zh"), where(telegram), now)
    [survey] = await surveys_of(mia)
    assert survey.language == "zh-CN" and survey.rating == 5 and survey.comment == "非常满意 5分"
    assert (await conversation_of(mia)).status is RESOLVED


async def test_a_normal_message_after_the_survey_is_not_a_rating_and_reopens(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    mia = await person(telegram, "777", now - timedelta(minutes=10))
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    text = "Actually I have 2 more questions about order 12345"
    await process(inbound(text, now + timedelta(minutes=1), "msg-q"), where(telegram), now)

    assert (await conversation_of(mia)).status is ConversationStatus.OPEN
    [survey] = await surveys_of(mia)
    assert survey.status is SurveyStatus.SENT and survey.rating is None

    # Resolved again after the customer wrote: a new resolution, a new survey; and its answer is taken.
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now + timedelta(minutes=5))
    await process(inbound("👍", now + timedelta(minutes=6), "msg-up"), where(telegram), now)
    first, second = await surveys_of(mia)
    assert first.status is SurveyStatus.SENT and second.status is SurveyStatus.ANSWERED and second.rating == 5
    assert await OutboundMessage.find({"conversation_id": mia.conversation_id}).count() == 2


async def test_a_rating_after_the_survey_expired_is_an_ordinary_message(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    mia = await person(telegram, "777", now - timedelta(minutes=10))
    await set_status(admin(telegram), mia.conversation_id, RESOLVED, now)
    late = now + timedelta(days=3)
    await process(inbound("4", late, "msg-late"), where(telegram), late)
    assert (await conversation_of(mia)).status is ConversationStatus.OPEN
    assert [s.status for s in await surveys_of(mia)] == [SurveyStatus.SENT]


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("5分", 5),
        ("非常满意 5分", 5),
        ("４", 4),
        ("4/5", 4),
        ("5 stars, thanks!", 5),
        ("★★★★", 4),
        ("⭐⭐⭐", 3),
        ("★★☆☆☆", 2),
        ("👍", 5),
        ("👍🏽", 5),
        ("👎", 1),
        ("三", 3),
        ("五星", 5),
        ("一分", 1),
        ("3分，一般", 3),
        ("I have 2 more questions", None),
        ("order 12345", None),
        ("6", None),
        ("0", None),
        ("thanks", None),
        ("满意", None),
        ("一般", None),
        ("👍👎", None),
        ("", None),
    ],
)
def test_what_counts_as_a_rating(text: str, rating: int | None) -> None:
    assert parse_rating(text) == rating


async def test_a_rating_without_an_open_survey_is_an_ordinary_message(
    telegram: platform_fakes.TestChannel, now: datetime
) -> None:
    other: PydanticObjectId = (await person(telegram, "888", now - timedelta(minutes=1))).conversation_id
    await Conversation.find({"_id": other}).update({"$set": {"status": RESOLVED.value}})  # resolved, never asked
    await process(inbound("5", now, "msg-888", chat="888"), where(telegram), now)
    stored = await Conversation.get(other)
    assert stored is not None and stored.status is ConversationStatus.OPEN
    assert await CsatSurvey.count() == 0


async def test_the_conversation_view_shows_the_survey_and_its_rating(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await save_csat_settings(inbox.scope.workspace_id, CsatSettings(enabled=True))
    await signed_in(web, "agent")
    url = f"/inbox/{inbox.cid('Mia')}"
    page = await web.get(url, headers=HTML)
    assert "data-csat" not in page.text
    resolved = await web.post(f"{url}/status", data={"csrf_token": csrf_of(page), "status": "resolved"}, headers=HTML)
    assert resolved.status_code == 303
    assert 'data-csat="sent"' in (await web.get(url, headers=HTML)).text

    mia = inbox.conversations["Mia"]
    assert mia.id is not None
    item = InboundMessage(
        platform="telegram",
        external_id="mia-rates",
        conversation_id="mia-1",
        sender=Sender("mia-1"),
        at=now,
        text="★★★★",
    )
    await process(item, Where(inbox.scope.workspace_id, mia.channel_id, "telegram"), now)
    thread = await web.get(f"{url}/thread", headers={**HTML, "hx-request": "true"})
    assert 'data-csat-rating="4"' in thread.text and "Customer rated 4 out of 5" in thread.text
    web.cookies.set(i18n.COOKIE, "zh-CN")
    assert "客户评分：4 分" in (await web.get(url, headers=HTML)).text

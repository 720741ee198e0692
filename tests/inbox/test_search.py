"""Search in message text: the terms, the list's `q` (API and web), reach and tenancy, backfill, the pipeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from beanie import PydanticObjectId
from bson import ObjectId

from scrm.auth.accounts import create_workspace
from scrm.auth.roles import Principal
from scrm.connectors.items import InboundMessage, Sender
from scrm.db import Database
from scrm.events import Where
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.inbox.search import matching_conversations, query_terms, search_tokens
from scrm.models import Channel, Conversation, Direction, Message, OutboundMessage, Role, Team, WorkspaceScope
from scrm.outbound_queue import Ledger, delivered
from scrm.pipeline import process_many
from scrm.search_commands import reindex_messages
from tests.auth.forms import HTML
from tests.inbox.conftest import Inbox, signed_in, talk

URL = "/api/v1/conversations"


def listed(page: httpx.Response) -> list[str]:
    """The contact names in the web page's conversation list, in order."""
    return re.findall(r'<strong class="conv-name">([^<]+)</strong>', page.text)


async def found(web: httpx.AsyncClient, inbox: Inbox, who: str = "admin", **params: Any) -> list[str]:
    """The contacts of the conversations the API lists for these parameters (an unknown id fails the test)."""
    response = await web.get(URL, params=params, headers=inbox.bearer(who))
    assert response.status_code == 200, response.text
    by_id = {inbox.cid(name): name for name in inbox.conversations}
    return [by_id[item["id"]] for item in response.json()["items"]]


async def chat(inbox: Inbox, now: datetime) -> None:
    """Wang (WeChat) waits for a parcel, Ann (Telegram) for a refund, Zoe (Telegram) writes both languages."""
    await talk(inbox, inbox.wechat, "Wang", now - timedelta(minutes=1), [("快递一个星期了还没到", None)])
    await talk(
        inbox, inbox.telegram, "Ann", now - timedelta(minutes=2), [("Hi", None), ("my refund hasn't arrived", None)]
    )
    await talk(inbox, inbox.telegram, "Zoe", now - timedelta(minutes=3), [("iPhone15 退款申请，订单 A-1024", None)])


# --- the terms ---------------------------------------------------------------------------------------------------


def test_english_words_are_case_folded_and_apostrophes_dropped() -> None:
    assert search_tokens("My REFUND hasn't arrived, my friend!") == "my refund hasnt arrived friend"
    assert query_terms("Refund") == ["refund"]


def test_chinese_is_cut_into_characters_and_bigrams_and_a_query_into_bigrams() -> None:
    assert search_tokens("还没到") == "还 还没 没 没到 到"
    assert query_terms("退款 没到") == ["退款", "没到"]
    assert query_terms("退款没到") == ["退款", "款没", "没到"]
    assert query_terms("贵") == ["贵"]


def test_mixed_text_emoji_full_width_and_punctuation() -> None:
    assert search_tokens("iPhone15退款！！") == "iphone15 退 退款 款"
    assert search_tokens("ＡＢＣ１２３，Ｈｉ") == "abc123 hi"  # full-width letters and digits are ASCII after NFKC
    assert search_tokens("😀👍 ok 🎉") == "ok"
    assert search_tokens("...!!! ??? —") == ""
    assert query_terms("🙂") == []
    assert search_tokens("Straße Ärger") == "strasse ärger"


async def test_a_message_built_with_text_gets_its_terms(database: Database) -> None:
    message = Message(
        workspace_id=PydanticObjectId(),
        channel_id=PydanticObjectId(),
        conversation_id=PydanticObjectId(),
        contact_id=PydanticObjectId(),
        platform="telegram",
        direction=Direction.INBOUND,
        text="退款 Refund",
        sent_at=datetime(2026, 1, 1),
    )
    assert message.search_terms == ["退", "退款", "款", "refund"]


# --- the list ------------------------------------------------------------------------------------------------------


async def test_chinese_is_found_by_words_inside_the_sentence_not_by_characters_out_of_order(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await chat(inbox, now)
    assert await found(web, inbox, q="还没到") == ["Wang"]
    assert await found(web, inbox, q="快递") == ["Wang"]
    assert await found(web, inbox, q="没快") == []
    assert await found(web, inbox, q="快递 没到") == ["Wang"]  # every word required
    assert await found(web, inbox, q="快递 退款") == []
    assert await found(web, inbox, q="咖啡") == ["Li"]  # the fixture's WeChat complaint
    assert await found(web, inbox, q="到") == ["Wang"]  # one character: the single characters are indexed


async def test_english_is_found_by_whole_words_in_any_case(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await chat(inbox, now)
    assert await found(web, inbox, q="refund") == ["Ann"]
    assert await found(web, inbox, q="REFUND") == ["Ann"]
    assert await found(web, inbox, q="hasn't arrived") == ["Ann"]
    assert await found(web, inbox, q="refunds") == []  # whole words: no prefixes, no stemming
    assert await found(web, inbox, q="ref") == []
    assert await found(web, inbox, q="order") == ["Mia"]  # "My order is late!", an earlier message of Mia's


async def test_mixed_text_is_found_by_either_language(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await chat(inbox, now)
    assert await found(web, inbox, q="退款") == ["Zoe"]
    assert await found(web, inbox, q="iphone15 订单") == ["Zoe"]
    assert await found(web, inbox, q="1024") == ["Zoe"]
    assert await found(web, inbox, q="ＩＰＨＯＮＥ１５") == ["Zoe"]


async def test_an_agent_finds_only_conversations_in_reach(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await chat(inbox, now)
    assert await found(web, inbox, "agent", q="快递") == []  # Wang writes on WeChat, the agent has Telegram
    assert await found(web, inbox, "other_agent", q="快递") == ["Wang"]
    assert await found(web, inbox, "agent", q="refund") == ["Ann"]
    assert await found(web, inbox, "other_agent", q="refund") == []
    assert inbox.telegram.id is not None
    team = await inbox.scope.insert(Team(workspace_id=inbox.scope.workspace_id, name="Parcels"))
    assert team.id is not None
    await inbox.scope.find(Conversation, {"_id": inbox.oid("Wang")}).update({"$set": {"team_id": team.id}})
    agent = Principal(inbox.scope.workspace_id, Role.AGENT, "test", frozenset({inbox.telegram.id}))
    in_team = Principal(
        inbox.scope.workspace_id, Role.AGENT, "test", frozenset({inbox.telegram.id}), frozenset({team.id})
    )
    assert await matching_conversations(agent, "快递") == []
    assert await matching_conversations(in_team, "快递") == [inbox.oid("Wang")]  # reached through the team
    assert await matching_conversations(in_team, "咖啡") == []  # Li: WeChat, no team


async def test_another_workspace_is_never_searched(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await chat(inbox, now)
    other = await create_workspace("elsewhere", now, actor="test", display_name="Elsewhere")
    assert other.id is not None
    elsewhere = Inbox(WorkspaceScope(other.id), inbox.telegram, inbox.wechat)
    channel = await elsewhere.scope.insert(Channel(workspace_id=other.id, platform="telegram", name="Other bot"))
    await talk(elsewhere, channel, "Eve", now, [("refund 快递 please", None)])
    assert await found(web, inbox, q="refund") == ["Ann"]
    assert await found(web, inbox, q="please") == []
    owner = Principal(other.id, Role.OWNER, "test")
    assert await matching_conversations(owner, "快递") == [elsewhere.oid("Eve")]


async def test_q_pages_and_combines_with_other_filters(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    for index, name in enumerate(["Ada", "Bob", "Cid", "Dan"]):
        channel = inbox.wechat if name == "Cid" else inbox.telegram
        await talk(inbox, channel, name, now - timedelta(minutes=index), [(f"Where is my parcel {index}?", None)])
    first = (await web.get(URL, params={"q": "parcel", "limit": 2}, headers=inbox.bearer("admin"))).json()
    assert [item["id"] for item in first["items"]] == [inbox.cid("Ada"), inbox.cid("Bob")]
    assert first["counts"]["open"] == 4
    assert await found(web, inbox, q="parcel", limit=2, cursor=first["next_cursor"]) == ["Cid", "Dan"]
    assert await found(web, inbox, q="parcel", channel_id=str(inbox.telegram.id)) == ["Ada", "Bob", "Dan"]
    await inbox.scope.find(Conversation, {"_id": inbox.oid("Bob")}).update({"$set": {"status": "resolved"}})
    assert await found(web, inbox, q="parcel", status="open") == ["Ada", "Cid", "Dan"]
    body = (await web.get(URL, params={"q": "parcel"}, headers=inbox.bearer("admin"))).json()
    assert body["counts"] == {"open": 3, "pending": 0, "snoozed": 0, "resolved": 1}


async def test_a_search_too_long_or_empty_is_a_400_problem(web: httpx.AsyncClient, inbox: Inbox) -> None:
    too_long = await web.get(URL, params={"q": "a" * 201}, headers=inbox.bearer("admin"))
    assert too_long.status_code == 400
    assert too_long.headers["content-type"].startswith("application/problem+json")
    assert too_long.json()["errors"][0]["key"] == "q"  # the problem names the parameter and the limit
    assert "200" in too_long.json()["errors"][0]["message"]
    empty = await web.get(URL, params={"q": ""}, headers=inbox.bearer("admin"))
    assert empty.status_code == 400
    assert (await web.get(URL, params={"q": "a" * 200}, headers=inbox.bearer("admin"))).status_code == 200


async def test_the_web_list_searches_and_keeps_q_in_its_links(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await chat(inbox, now)
    await signed_in(web, "admin")
    page = await web.get("/inbox", params={"q": "还没到"}, headers=HTML)
    assert page.status_code == 200 and listed(page) == ["Wang"]
    assert 'name="q"' in page.text and 'value="还没到"' in page.text
    assert "q=%E8%BF%98%E6%B2%A1%E5%88%B0" in page.text  # the status tabs keep the search
    assert listed(await web.get("/inbox", params={"q": "REFUND"}, headers=HTML)) == ["Ann"]
    assert listed(await web.get("/inbox", params={"q": "x" * 500}, headers=HTML)) == []  # cut, not refused


# --- how messages get their terms ----------------------------------------------------------------------------------


async def test_reindex_backfills_messages_stored_before_search(inbox: Inbox, now: datetime) -> None:
    conversation = inbox.conversations["Sam"]
    assert conversation.id is not None
    collection = Message.get_pymongo_collection()
    old = [
        {
            "_id": ObjectId(),
            "workspace_id": inbox.scope.workspace_id,
            "created_at": now,
            "channel_id": conversation.channel_id,
            "conversation_id": conversation.id,
            "contact_id": conversation.contact_id,
            "platform": conversation.platform,
            "external_id": f"old-{n}",
            "direction": "inbound",
            "text": text,
            "attachments": [],
            "sent_at": now - timedelta(days=30),
        }
        for n, text in enumerate(["Old invoice question", "发票什么时候开"])
    ]
    await collection.insert_many(old)
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, "test")
    assert await matching_conversations(owner, "invoice") == []
    assert await reindex_messages() == 2
    assert await matching_conversations(owner, "invoice") == [conversation.id]
    assert await matching_conversations(owner, "发票") == [conversation.id]
    assert await reindex_messages() == 0  # idempotent: nothing left to do
    assert await reindex_messages(everything=True) == 0  # every stored message already has the current terms


async def test_a_message_recorded_by_the_pipeline_is_searchable_at_once(inbox: Inbox, now: datetime) -> None:
    assert inbox.wechat.id is not None
    where = Where(inbox.scope.workspace_id, inbox.wechat.id, "wechat")
    item = InboundMessage("wechat", "wx-1", "openid-9", Sender("openid-9", "小周"), now, text="发票抬头写错了")
    await process_many([(item, where)], now)
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, "test")
    listing = await list_conversations(owner, InboxFilter(q="抬头"))
    assert [row.contact_name for row in listing.rows] == ["小周"]
    edit = InboundMessage(
        "wechat", "wx-1", "openid-9", Sender("openid-9", "小周"), now, text="地址写错了", edited_at=now
    )
    await process_many([(edit, where)], now)  # an edit replaces the terms with the text
    assert await matching_conversations(owner, "抬头") == []
    assert len(await matching_conversations(owner, "地址")) == 1


async def test_our_delivered_reply_is_searchable(inbox: Inbox, now: datetime) -> None:
    conversation = inbox.conversations["Li"]
    assert conversation.id is not None
    row = await inbox.scope.insert(
        OutboundMessage(
            workspace_id=inbox.scope.workspace_id,
            channel_id=conversation.channel_id,
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
            dedupe_key="reply-search",
            source="inbox",
        )
    )
    update, message, touch = delivered(row, "wechat", conversation.id, "已为您补发新的咖啡豆", "wx-out-1", now)
    await Ledger().write(update, message, touch)
    owner = Principal(inbox.scope.workspace_id, Role.OWNER, "test")
    assert await matching_conversations(owner, "补发") == [conversation.id]

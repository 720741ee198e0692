"""Inbox search by the person: names (English, Chinese), handles, emails, phones; the matching message's snippet."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from beanie import PydanticObjectId
from bson import ObjectId

from scrm.auth.accounts import create_workspace
from scrm.auth.roles import Principal
from scrm.connectors.items import InboundMessage, Sender
from scrm.contacts.merge import merge_contacts, unmerge_contacts
from scrm.events import Where
from scrm.inbox.conversations import InboxFilter, list_conversations
from scrm.inbox.search import SearchMatch, matching_conversations, message_match
from scrm.ingest_profiles import fill_from_senders
from scrm.models import Channel, Contact, Conversation, Identity, Message, Role, Team, WorkspaceScope
from scrm.pipeline import process_many
from scrm.search_commands import reindex_contacts
from scrm.search_terms import contact_query_terms, contact_search_terms, match_spans, query_terms
from tests.auth.forms import HTML
from tests.auth.test_commands import scrm
from tests.inbox.conftest import Inbox, signed_in

URL = "/api/v1/conversations"


async def customer(
    inbox: Inbox,
    channel: Channel,
    name: str,
    at: datetime,
    texts: list[str],
    *,
    username: str = "",
    email: str | None = None,
    phone: str | None = None,
    key: str = "",
) -> Conversation:
    """A contact with these details on `channel` and their conversation, inbound messages a minute apart up to `at`."""
    assert channel.id is not None
    external = key or f"{name}-{username}-1"
    identity = Identity(platform=channel.platform, external_id=external, channel_id=channel.id, username=username)
    contact = await inbox.scope.insert(
        Contact(
            workspace_id=inbox.scope.workspace_id,
            name=name,
            identities=[identity],
            email=email,
            phone=phone,
            last_seen_at=at,
        )
    )
    assert contact.id is not None
    conversation = await inbox.scope.insert(
        Conversation(
            workspace_id=inbox.scope.workspace_id,
            channel_id=channel.id,
            contact_id=contact.id,
            platform=channel.platform,
            external_id=external,
            last_message_at=at,
            last_message_preview=texts[-1] if texts else "",
        )
    )
    start = at - timedelta(minutes=len(texts) - 1)
    for index, text in enumerate(texts):
        await inbox.add_message(conversation, f"{external}-{index}", text, start + timedelta(minutes=index))
    inbox.conversations[name] = conversation
    return conversation


async def api(web: httpx.AsyncClient, inbox: Inbox, who: str = "admin", **params: Any) -> list[dict[str, Any]]:
    """The items of the API list for these parameters."""
    response = await web.get(URL, params=params, headers=inbox.bearer(who))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def names(web: httpx.AsyncClient, inbox: Inbox, who: str = "admin", **params: Any) -> list[str]:
    """The contacts of the conversations the API lists, in order."""
    by_id = {inbox.cid(name): name for name in inbox.conversations}
    return [by_id[item["id"]] for item in await api(web, inbox, who, **params)]


def owner_of(inbox: Inbox) -> Principal:
    return Principal(inbox.scope.workspace_id, Role.OWNER, "test")


async def people(inbox: Inbox, now: datetime) -> None:
    """Jenny Wang (Telegram, @jenny_w, email, Chinese mobile), 王芳 (WeChat), and Bob who writes about Jenny."""
    await customer(
        inbox,
        inbox.telegram,
        "Jenny Wang",
        now - timedelta(hours=3),
        ["Where is my parcel?"],
        username="jenny_w",
        email="Jenny.Wang@Example.com",
        phone="+86 138 0013 8000",
    )
    await customer(inbox, inbox.wechat, "王芳", now - timedelta(hours=4), ["咖啡豆什么时候发货"])
    await customer(inbox, inbox.telegram, "Bob", now - timedelta(minutes=1), ["My friend Jenny recommended you"])


# --- the terms ---------------------------------------------------------------------------------------------------


def test_names_are_cut_like_text_and_emails_and_phones_stay_whole() -> None:
    terms = contact_search_terms(["Jenny Wang", "jenny_w", "王芳"], ["Jenny.Wang@Example.com"], ["+86 138 0013 8000"])
    assert terms == [
        "jenny",
        "wang",
        "w",
        "王",
        "王芳",
        "芳",
        "jenny.wang@example.com",
        "8613800138000",
        "13800138000",
    ]
    assert contact_query_terms("@jenny_w") == ["jenny", "w"]
    assert contact_query_terms("138 0013 8000") == ["13800138000"]
    assert contact_query_terms("+86 138-0013-8000") == ["8613800138000"]
    assert contact_query_terms("JENNY.WANG@example.com") == ["jenny.wang@example.com"]
    assert contact_query_terms("王芳") == ["王芳"]
    assert contact_query_terms("1024") == ["1024"]  # too short for a phone number: a word like any other


def test_spans_mark_whole_words_and_han_terms_in_the_text_as_written() -> None:
    text = "我的快递一个星期了还没到, REFUND hasn’t arrived"
    spans = match_spans(text, query_terms("还没到 refund hasnt"))
    assert [text[start:end] for start, end in spans] == ["还没到", "REFUND", "hasn’t"]
    assert match_spans("refunds refund", ["refund"]) == [(8, 14)]  # whole words only


def test_a_long_message_is_cut_around_its_match_and_its_html_escaped() -> None:
    text = "<b>x</b> " * 40 + "where is my refund? " + "tail " * 40
    match = message_match(PydanticObjectId(), text, "refund")
    assert match.snippet.startswith("…") and match.snippet.endswith("…")
    assert len(match.snippet) <= 142
    assert [match.snippet[s:e] for s, e in match.highlights] == ["refund"]
    html = str(match.html)
    assert "<mark>refund</mark>" in html
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


# --- finding people ------------------------------------------------------------------------------------------------


async def test_an_english_name_finds_the_contact_first_then_messages_naming_them(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await people(inbox, now)
    # Bob's conversation is more recent, but Jenny herself comes first
    assert await names(web, inbox, q="Jenny") == ["Jenny Wang", "Bob"]
    items = await api(web, inbox, q="jenny")
    assert [item["match"]["kind"] for item in items] == ["contact", "message"]
    assert items[0]["match"]["message_id"] is None
    assert items[0]["match"]["snippet"] == "Jenny Wang"
    assert items[0]["match"]["highlights"] == [[0, 5]]
    assert await names(web, inbox, q="wang jenny") == ["Jenny Wang"]
    assert await names(web, inbox, q="jen") == []  # whole words, as for text
    assert (await api(web, inbox))[0]["match"] is None  # no `q`, no match


async def test_a_chinese_name_is_found_by_the_name_or_one_character(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await people(inbox, now)
    assert await names(web, inbox, q="王芳") == ["王芳"]
    assert await names(web, inbox, q="芳") == ["王芳"]
    assert await names(web, inbox, q="芳王") == []
    item = (await api(web, inbox, q="王芳"))[0]
    assert item["match"] == {"kind": "contact", "message_id": None, "snippet": "王芳", "highlights": [[0, 2]]}


async def test_a_handle_email_or_phone_finds_the_contact(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await people(inbox, now)
    assert await names(web, inbox, q="@jenny_w") == ["Jenny Wang"]
    item = (await api(web, inbox, q="@jenny_w"))[0]
    assert item["match"]["snippet"] == "@jenny_w"
    assert await names(web, inbox, q="jenny.wang@example.COM") == ["Jenny Wang"]
    assert (await api(web, inbox, q="jenny.wang@example.com"))[0]["match"]["snippet"] == "Jenny.Wang@Example.com"
    assert await names(web, inbox, q="example.com") == []  # an email is one whole term
    for spelling in ("13800138000", "138 0013 8000", "+86 138 0013 8000", "8613800138000"):
        assert await names(web, inbox, q=spelling) == ["Jenny Wang"], spelling
    phone = (await api(web, inbox, q="13800138000"))[0]["match"]
    assert phone == {"kind": "contact", "message_id": None, "snippet": "+86 138 0013 8000", "highlights": [[0, 17]]}
    assert await names(web, inbox, q="13800138001") == []


async def test_a_whatsapp_number_is_a_phone_number(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    whatsapp = Channel(workspace_id=inbox.scope.workspace_id, platform="whatsapp", name="Shop WhatsApp")
    channel = await inbox.scope.insert(whatsapp)
    await customer(inbox, channel, "Lily", now, ["hi"], key="8613912345678")
    item = (await api(web, inbox, q="139 1234 5678"))[0]
    assert item["id"] == inbox.cid("Lily")
    assert item["match"]["snippet"] == "+8613912345678"


async def test_a_changed_name_is_found_by_the_new_name_only(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await people(inbox, now)
    contact_id = str(inbox.conversations["王芳"].contact_id)
    response = await web.patch(
        f"/api/v1/contacts/{contact_id}",
        json={"name": "李娜", "email": "nana@example.cn"},
        headers=inbox.bearer("admin"),
    )
    assert response.status_code == 200, response.text
    assert await names(web, inbox, q="王芳") == []
    assert await names(web, inbox, q="李娜") == ["王芳"]
    assert await names(web, inbox, q="nana@example.cn") == ["王芳"]


async def test_a_merge_brings_the_other_contacts_handles_and_unmerge_takes_them_back(
    inbox: Inbox, now: datetime
) -> None:
    jenny = await customer(inbox, inbox.telegram, "Jenny", now - timedelta(hours=1), ["hi"], username="jenny_w")
    other = await customer(inbox, inbox.wechat, "", now - timedelta(hours=2), ["你好"], username="jw_wechat")
    owner = owner_of(inbox)
    assert await matching_conversations(owner, "jw_wechat") == [other.id]
    record = await merge_contacts(inbox.scope, other.contact_id, jenny.contact_id, {}, actor="test", now=now)
    # both threads now belong to Jenny, found by the handle the merged contact brought
    assert set(await matching_conversations(owner, "jw_wechat")) == {jenny.id, other.id}
    assert set(await matching_conversations(owner, "jenny")) == {jenny.id, other.id}
    await unmerge_contacts(inbox.scope, record, actor="test", now=now)
    assert await matching_conversations(owner, "jw_wechat") == [other.id]
    assert await matching_conversations(owner, "jenny") == [jenny.id]


async def test_a_contact_first_seen_by_the_pipeline_is_found_by_its_name(inbox: Inbox, now: datetime) -> None:
    assert inbox.wechat.id is not None
    where = Where(inbox.scope.workspace_id, inbox.wechat.id, "wechat")
    sender = Sender("openid-7", "周小川", username="xiaochuan")
    await process_many([(InboundMessage("wechat", "wx-7", "openid-7", sender, now, text="发票抬头写错了"), where)], now)
    owner = owner_of(inbox)
    listing = await list_conversations(owner, InboxFilter(q="周小川"))
    assert [row.contact_name for row in listing.rows] == ["周小川"]
    assert listing.rows[0].match is not None and listing.rows[0].match.kind == "contact"
    assert len(await matching_conversations(owner, "@xiaochuan")) == 1


async def test_a_name_filled_from_a_profile_later_is_found(inbox: Inbox, now: datetime) -> None:
    nameless = await customer(inbox, inbox.telegram, "", now, ["hello"], key="tg-555")
    owner = owner_of(inbox)
    assert await matching_conversations(owner, "Priya") == []
    await fill_from_senders([(nameless.contact_id, Sender("tg-555", "Priya Patel"))])
    assert await matching_conversations(owner, "priya") == [nameless.id]


# --- reach and tenancy ---------------------------------------------------------------------------------------------


async def test_an_agent_finds_only_contacts_of_conversations_in_reach(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await people(inbox, now)
    assert await names(web, inbox, "agent", q="王芳") == []  # WeChat: the agent has Telegram
    assert await names(web, inbox, "other_agent", q="王芳") == ["王芳"]
    assert await names(web, inbox, "agent", q="jenny") == ["Jenny Wang", "Bob"]
    assert await names(web, inbox, "other_agent", q="jenny") == []
    team = await inbox.scope.insert(Team(workspace_id=inbox.scope.workspace_id, name="Beans"))
    assert team.id is not None and inbox.telegram.id is not None
    await inbox.scope.find(Conversation, {"_id": inbox.oid("王芳")}).update({"$set": {"team_id": team.id}})
    telegram = frozenset({inbox.telegram.id})
    in_team = Principal(inbox.scope.workspace_id, Role.AGENT, "test", telegram, frozenset({team.id}))
    assert await matching_conversations(in_team, "王芳") == [inbox.oid("王芳")]  # reached through the team
    assert await matching_conversations(Principal(inbox.scope.workspace_id, Role.AGENT, "test", telegram), "王芳") == []


async def test_another_workspaces_contact_is_never_found(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await people(inbox, now)
    other = await create_workspace("elsewhere", now, actor="test", display_name="Elsewhere")
    assert other.id is not None
    elsewhere = Inbox(WorkspaceScope(other.id), inbox.telegram, inbox.wechat)
    channel = await elsewhere.scope.insert(Channel(workspace_id=other.id, platform="telegram", name="Other bot"))
    theirs = await customer(
        elsewhere, channel, "Jenny Wang", now, ["hi"], username="jenny_w", email="jenny.wang@example.com"
    )
    assert await names(web, inbox, q="jenny.wang@example.com") == ["Jenny Wang"]
    assert theirs.id not in await matching_conversations(owner_of(inbox), "@jenny_w")
    assert await matching_conversations(Principal(other.id, Role.OWNER, "test"), "jenny.wang@example.com") == [
        theirs.id
    ]


# --- what a row shows ----------------------------------------------------------------------------------------------


async def test_a_text_match_shows_the_newest_matching_message_not_the_latest(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    conversation = await customer(
        inbox,
        inbox.telegram,
        "Ada",
        now,
        ["I asked for a refund last week", "The REFUND arrived, thank you!", "bye"],
    )
    newest_match = await inbox.scope.find_one(
        Message, {"conversation_id": conversation.id, "text": "The REFUND arrived, thank you!"}
    )
    assert newest_match is not None
    item = (await api(web, inbox, q="refund"))[0]
    assert item["match"] == {
        "kind": "message",
        "message_id": str(newest_match.id),
        "snippet": "The REFUND arrived, thank you!",
        "highlights": [[4, 10]],
    }
    await signed_in(web, "admin")
    page = await web.get("/inbox", params={"q": "refund"}, headers=HTML)
    assert page.status_code == 200
    row = re.search(
        r'class="conv-preview conv-match match-message"[^>]*>(.*?)</span>\s*<span class="conv-meta">', page.text, re.S
    )
    assert row is not None, page.text
    assert "The <mark>REFUND</mark> arrived, thank you!" in row.group(1)
    assert "bye" not in row.group(1)  # the latest message is not what matched


async def test_html_in_a_message_is_escaped_in_the_snippet(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await customer(inbox, inbox.telegram, "Eve", now, ['<script>alert("x")</script> refund <img src=x onerror=y>'])
    await signed_in(web, "admin")
    page = await web.get("/inbox", params={"q": "refund"}, headers=HTML)
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; <mark>refund</mark> &lt;img src=x onerror=y&gt;" in page.text
    )


async def test_a_contact_match_row_marks_the_name(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    await people(inbox, now)
    await signed_in(web, "admin")
    page = await web.get("/inbox", params={"q": "王芳"}, headers=HTML)
    assert "match-contact" in page.text and "<mark>王芳</mark>" in page.text
    zh = await web.get("/inbox", params={"q": "王芳"}, headers={**HTML, "accept-language": "zh-CN"})
    assert "联系人的姓名、账号、邮箱或电话匹配" in zh.text


async def test_pages_run_through_contact_matches_then_message_matches(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await people(inbox, now)
    await customer(inbox, inbox.wechat, "Jenny Li", now - timedelta(hours=5), ["在吗"])
    first = (await web.get(URL, params={"q": "jenny", "limit": 1}, headers=inbox.bearer("admin"))).json()
    assert [item["id"] for item in first["items"]] == [inbox.cid("Jenny Wang")]
    assert first["next_cursor"].startswith("c")
    second = (
        await web.get(
            URL, params={"q": "jenny", "limit": 1, "cursor": first["next_cursor"]}, headers=inbox.bearer("admin")
        )
    ).json()
    assert [item["id"] for item in second["items"]] == [inbox.cid("Jenny Li")]
    third = await names(web, inbox, q="jenny", limit=1, cursor=second["next_cursor"])
    assert third == ["Bob"]
    assert first["counts"]["open"] == 3


async def test_sorted_by_waiting_the_longest_wait_comes_first_whatever_matched(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    await people(inbox, now)
    waits = {"Jenny Wang": timedelta(minutes=30), "Bob": timedelta(hours=2), "王芳": timedelta(hours=5)}
    for name, wait in waits.items():
        await Conversation.get_pymongo_collection().update_one(
            {"_id": inbox.conversations[name].id}, {"$set": {"waiting_since": now - wait}}
        )
    # the explicit sort wins over contacts-first; 王芳 waits longest but does not match
    assert await names(web, inbox, q="jenny", sort="waiting") == ["Bob", "Jenny Wang"]
    kinds = [item["match"]["kind"] for item in await api(web, inbox, q="jenny", sort="waiting")]
    assert kinds == ["message", "contact"]
    assert await names(web, inbox, q="jenny") == ["Jenny Wang", "Bob"]


# --- backfill ------------------------------------------------------------------------------------------------------


async def test_reindex_backfills_contacts_stored_before_search(inbox: Inbox, now: datetime) -> None:
    assert inbox.telegram.id is not None
    contact_id = ObjectId()
    await Contact.get_pymongo_collection().insert_one(
        {
            "_id": contact_id,
            "workspace_id": inbox.scope.workspace_id,
            "created_at": now,
            "identities": [
                {"platform": "telegram", "external_id": "old-1", "key": "telegram:old-1", "username": "old_timer"}
            ],
            "name": "Grace Ho",
            "phone": "+44 20 7946 0018",
            "tags": [],
            "attributes": {},
        }
    )
    conversation = await inbox.scope.insert(
        Conversation(
            workspace_id=inbox.scope.workspace_id,
            channel_id=inbox.telegram.id,
            contact_id=PydanticObjectId(contact_id),
            platform="telegram",
            external_id="old-1",
            last_message_at=now,
        )
    )
    owner = owner_of(inbox)
    assert await matching_conversations(owner, "grace") == []
    assert await reindex_contacts() == 1
    assert await matching_conversations(owner, "grace") == [conversation.id]
    assert await matching_conversations(owner, "@old_timer") == [conversation.id]
    assert await matching_conversations(owner, "020 7946 0018") == [conversation.id]
    assert await reindex_contacts() == 0  # idempotent
    assert await reindex_contacts(everything=True) == 0  # every contact already has the current terms


async def test_the_reindex_command_backfills_contacts_and_says_how_many(
    inbox: Inbox, now: datetime, mongo_uri: str, database_name: str, tmp_path: Path
) -> None:
    contact_id = ObjectId()
    await Contact.get_pymongo_collection().insert_one(
        {"_id": contact_id, "workspace_id": inbox.scope.workspace_id, "created_at": now, "identities": [],
         "name": "王芳", "tags": [], "attributes": {}}
    )  # fmt: skip
    env = {"SCRM_MONGODB_URI": mongo_uri, "SCRM_DATABASE": database_name, "SCRM_HOME": str(tmp_path / "home")}
    ran = await scrm(env, "inbox", "reindex")
    assert ran.exit_code == 0, ran.output
    assert "0 messages and 1 contacts indexed for search." in ran.stdout
    stored = await Contact.get_pymongo_collection().find_one({"_id": contact_id})
    assert stored is not None and {"王", "芳", "王芳"} <= set(stored["search_terms"])
    again = await scrm(env, "inbox", "reindex")
    assert "0 messages and 0 contacts indexed for search." in again.stdout


def test_a_match_without_highlights_is_its_escaped_text() -> None:
    assert str(SearchMatch("message", None, "a < b", ()).html) == "a &lt; b"

"""@mentions in private notes: parsing handles, storing whom a note mentions within reach, the API filter,
the "Mentions of me" page, and the highlighted (escaped) rendering."""

from __future__ import annotations

from datetime import datetime

import httpx
from beanie import PydanticObjectId

from scrm.auth.accounts import add_member, create_user, create_workspace
from scrm.auth.tokens import create_token
from scrm.db import Database
from scrm.inbox.mentions import handle_map, highlight, scan
from scrm.models import Channel, Note, Role, User, WorkspaceScope
from tests.auth.conftest import PASSWORD
from tests.inbox.conftest import Inbox, signed_in, talk

NOTES = "/api/v1/notes"


def member(email: str, name: str) -> User:
    """An unsaved user (the `database` fixture sets the models up), enough to give handles."""
    return User(id=PydanticObjectId(), email=email, password_hash="x", display_name=name)


async def test_handles_are_the_email_local_part_or_the_display_name_without_spaces(
    database: Database,
) -> None:  # User documents need the models set up
    zhang, mia, li, admin = (
        member("zw@example.com", "张伟"),
        member("mia.chen@example.com", "Mia Chen"),
        member("li@example.com", "李娜"),
        member("admin@example.com", "Admin"),
    )
    handles = handle_map([zhang, mia, li, admin])
    text = "@张伟请看一下, cc @MIACHEN and @mia.chen. @nobody; mail admin@example.com, not @admins but @Admin! @李娜。"
    found = [(f.handle, f.user_id) for f in scan(text, handles)]
    assert found == [
        ("张伟", zhang.id),  # a Chinese name runs straight into the sentence
        ("MIACHEN", mia.id),  # display name without spaces, any case
        ("mia.chen", mia.id),  # the email's local part; the full stop ends the sentence
        ("nobody", None),  # unknown: plain text, reported
        ("admins", None),  # an ASCII handle ends where the word does
        ("Admin", admin.id),
        ("李娜", li.id),
    ]


async def test_a_handle_two_members_share_names_nobody(
    database: Database,
) -> None:  # User documents need the models set up
    first, second = member("a@example.com", "张伟"), member("b@example.com", "张 伟")
    assert [(f.handle, f.user_id) for f in scan("@张伟 看看", handle_map([first, second]))] == [("张伟", None)]


async def test_highlight_splits_only_the_mentions_that_were_stored(
    database: Database,
) -> None:  # User documents need the models set up
    mia, sam = member("mia@example.com", "Mia"), member("sam@example.com", "Sam")
    assert mia.id is not None and sam.id is not None
    parts = highlight("@mia and @sam: <b>", [mia.id], handle_map([mia, sam]))
    assert parts == (("@mia", True), (" and @sam: <b>", False))


async def zhang_wei(inbox: Inbox, now: datetime) -> User:
    """张伟, an agent on the Telegram channel (so they see Mia's and Sam's conversations, not Li's)."""
    assert inbox.telegram.id is not None
    user = await create_user("zhang.wei@example.com", PASSWORD, now, display_name="张伟")
    await add_member(inbox.scope.workspace_id, user, Role.AGENT, now, actor="test", channel_ids=[inbox.telegram.id])
    return user


def uid(inbox: Inbox, who: str) -> str:
    return str(inbox.users[who].id)


async def test_a_note_stores_the_members_within_reach_and_reports_the_rest(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    zhang = await zhang_wei(inbox, now)
    text = "@agent @other_agent @张伟请跟进 @Viewer @nobody @AGENT again"
    written = await web.post(
        NOTES, json={"conversation_id": inbox.cid("Mia"), "text": text}, headers=inbox.bearer("admin")
    )
    assert written.status_code == 201, written.text
    body = written.json()
    # the other agent works WeChat only: Mia's Telegram conversation is out of their reach
    assert body["mentioned_user_ids"] == [uid(inbox, "agent"), str(zhang.id), uid(inbox, "viewer")]
    assert body["unresolved_mentions"] == ["other_agent", "nobody"]
    stored = await inbox.scope.get(Note, PydanticObjectId(body["id"]))
    assert stored.mentioned_user_ids == [inbox.users["agent"].id, zhang.id, inbox.users["viewer"].id]
    assert stored.text == text  # the text is kept as written
    read = (await web.get(f"{NOTES}/{body['id']}", headers=inbox.bearer("admin"))).json()
    assert read["mentioned_user_ids"] == body["mentioned_user_ids"] and read["unresolved_mentions"] == []


async def test_the_api_lists_the_notes_mentioning_someone_within_the_callers_reach(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    admin = inbox.bearer("admin")
    for name, text in [("Mia", "@agent refund?"), ("Li", "@other_agent 退款"), ("Sam", "@agent @other_agent price")]:
        posted = await web.post(NOTES, json={"conversation_id": inbox.cid(name), "text": text}, headers=admin)
        assert posted.status_code == 201, posted.text
    await web.post(NOTES, json={"conversation_id": inbox.cid("Mia"), "text": "no mention"}, headers=admin)

    def texts(page: httpx.Response) -> list[str]:
        assert page.status_code == 200, page.text
        return [item["text"] for item in page.json()["items"]]

    agent_id = {"mentioned": uid(inbox, "agent")}
    assert texts(await web.get(NOTES, params=agent_id, headers=admin)) == [
        "@agent @other_agent price",
        "@agent refund?",
    ]
    first = await web.get(NOTES, params={**agent_id, "limit": 1}, headers=admin)
    assert texts(first) == ["@agent @other_agent price"]
    rest = {**agent_id, "cursor": first.json()["next_cursor"]}
    assert texts(await web.get(NOTES, params=rest, headers=admin)) == ["@agent refund?"]
    # other_agent was out of reach on Sam's (Telegram) note, so only Li's mentions them
    other_id = {"mentioned": uid(inbox, "other_agent")}
    assert texts(await web.get(NOTES, params=other_id, headers=admin)) == ["@other_agent 退款"]
    # an agent's token reads only the notes of its channels
    assert texts(await web.get(NOTES, params=other_id, headers=inbox.bearer("agent"))) == []
    assert len(texts(await web.get(NOTES, params=agent_id, headers=inbox.bearer("agent")))) == 2

    bad = await web.get(NOTES, params={"mentioned": "me"}, headers=admin)
    assert bad.status_code == 400 and "signed-in user" in bad.json()["detail"]
    assert (await web.get(NOTES, params={"mentioned": "nope"}, headers=admin)).status_code == 400

    # another workspace sees none of these, and cannot mention a member of this one
    elsewhere = await create_workspace("elsewhere", now, actor="test")
    assert elsewhere.id is not None
    scope = WorkspaceScope(elsewhere.id)
    _, token = await create_token(scope, Role.ADMIN, "other shop", now, actor="test")
    theirs = {"authorization": f"Bearer {token}"}
    assert texts(await web.get(NOTES, params=agent_id, headers=theirs)) == []
    world = Inbox(scope, inbox.telegram, inbox.wechat)
    channel = await scope.insert(Channel(workspace_id=elsewhere.id, platform="telegram", name="Other bot"))
    conversation = await talk(world, channel, "Ola", now, [("hi", None)])
    note = {"conversation_id": str(conversation.id), "text": "@agent hello"}
    posted = (await web.post(NOTES, json=note, headers=theirs)).json()
    assert posted["mentioned_user_ids"] == [] and posted["unresolved_mentions"] == ["agent"]


async def test_the_mentions_page_lists_mine_with_links_and_highlights_escaped(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    admin = inbox.bearer("admin")
    hostile = '<script>alert("x")</script> @agent <img src=x onerror=alert(1)>'
    for name, text in [("Mia", hostile), ("Li", "@other_agent 退款"), ("Sam", "@Agent price?")]:
        posted = await web.post(NOTES, json={"conversation_id": inbox.cid(name), "text": text}, headers=admin)
        assert posted.status_code == 201, posted.text
    client = await signed_in(web, "agent")

    page = await client.get("/inbox/mentions")
    assert page.status_code == 200
    html = page.text
    assert "Mentions of me" in html
    assert html.index("</mark> price?") < html.index("&lt;script&gt;")  # newest first
    assert f'href="/inbox/{inbox.cid("Mia")}"' in html and f'href="/inbox/{inbox.cid("Sam")}"' in html
    assert inbox.cid("Li") not in html  # not mine, and out of reach
    assert '<mark class="mention" title="Mentioned teammate">@agent</mark>' in html
    assert '<mark class="mention" title="Mentioned teammate">@Agent</mark>' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'id="mentions-total">2<' in html

    chinese = await client.get("/inbox/mentions", headers={"accept-language": "zh-CN"})
    assert "提到我的" in chinese.text and 'title="被提及的同事">@agent</mark>' in chinese.text

    inbox_page = await client.get("/inbox")
    assert 'href="/inbox/mentions"' in inbox_page.text and 'id="mentions-count"' in inbox_page.text
    assert ">2</span></a>" in inbox_page.text.split('id="mentions-link"')[1].split("\n")[0]

    thread = await client.get(f"/inbox/{inbox.cid('Mia')}/thread")
    assert '<mark class="mention" title="Mentioned teammate">@agent</mark>' in thread.text
    assert "<script>alert" not in thread.text and "&lt;img src=x onerror=alert(1)&gt;" in thread.text


async def test_a_note_written_in_the_inbox_stores_its_mentions(web: httpx.AsyncClient, inbox: Inbox) -> None:
    client = await signed_in(web, "admin")
    page = await client.get(f"/inbox/{inbox.cid('Mia')}")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": csrf, "text": "@agent please call back, @viewer FYI"}
    posted = await client.post(f"/inbox/{inbox.cid('Mia')}/notes", data=form)
    assert posted.status_code == 303
    notes = await inbox.scope.find(Note, {}).to_list()
    assert [n.mentioned_user_ids for n in notes] == [[inbox.users["agent"].id, inbox.users["viewer"].id]]
    shown = await client.get(f"/inbox/{inbox.cid('Mia')}")
    assert '<mark class="mention" title="Mentioned teammate">@viewer</mark>' in shown.text

"""Canned responses with variables, personal ones, languages and shortcodes: in the API, the service and the reply
box."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from pymongo.errors import DuplicateKeyError

from scrm.auth.roles import Principal
from scrm.inbox import canned
from scrm.inbox.conversations import InboxInputError
from scrm.models import CannedResponse, Contact, Role
from tests.inbox.conftest import Inbox, signed_in

URL = "/api/v1/canned-responses"
EN = "Hi {contact.first_name} ({contact.name}), {agent.name} of {workspace.name} here, on {channel.name}."
ZH = "{contact.name}您好！我是{workspace.name}的{agent.name}，在{channel.name}为您服务。"


def member(inbox: Inbox, who: str, role: Role) -> Principal:
    """The signed-in user `who` as a principal (an agent: on the channels the fixture gives them)."""
    user = inbox.users[who]
    assert user.id is not None and inbox.telegram.id is not None and inbox.wechat.id is not None
    channels = {"agent": {inbox.telegram.id}, "other_agent": {inbox.wechat.id}}.get(who, set())
    return Principal(inbox.scope.workspace_id, role, f"user:{user.id}", channel_ids=frozenset(channels))


async def rename(inbox: Inbox, conversation: str, name: str, language: str | None) -> None:
    await inbox.scope.find(Contact, {"_id": inbox.conversations[conversation].contact_id}).update(
        {"$set": {"name": name, "language": language}}
    )


async def offered(principal: Principal, inbox: Inbox, conversation: str) -> list[str]:
    """The shortcodes the reply box of a conversation offers, in order."""
    return [c.name for c in await canned.for_conversation(principal, inbox.oid(conversation))]


async def test_each_variable_is_filled_in_english_and_chinese(inbox: Inbox, now: datetime) -> None:
    admin = member(inbox, "admin", Role.ADMIN)
    await rename(inbox, "Mia", "Mia Wong", "en")
    await rename(inbox, "Li", "李小龙", "zh-CN")
    en = await canned.save_canned(admin, "hello", EN, now, language="en")
    zh = await canned.save_canned(admin, "nihao", ZH, now, language="zh-CN")
    assert en.owner_user_id is None and zh.language == "zh-CN"
    assert await canned.render(admin, en, inbox.oid("Mia")) == ("Hi Mia (Mia Wong), Admin of Shop here, on Shop bot.")
    assert await canned.render(admin, zh, inbox.oid("Li")) == "李小龙您好！我是Shop的Admin，在Shop 公众号为您服务。"
    # a name written without spaces is its own first name; a contact without any name renders as empty text
    assert await canned.render(admin, en, inbox.oid("Li")) == "Hi 李小龙 (李小龙), Admin of Shop here, on Shop 公众号."
    await inbox.scope.find(Contact, {"_id": inbox.conversations["Sam"].contact_id}).update(
        {"$set": {"name": "", "identities": []}}
    )
    assert await canned.render(admin, en, inbox.oid("Sam")) == "Hi  (), Admin of Shop here, on Shop bot."


async def test_an_unknown_variable_is_refused_by_name(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    admin = inbox.bearer("admin")
    refused = await web.post(URL, json={"name": "oops", "text": "Hi {contact.nickname} and {order.id}!"}, headers=admin)
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "{contact.nickname}" in detail and "{order.id}" in detail and "{contact.first_name}" in detail
    with pytest.raises(InboxInputError, match=r"\{客户\}"):
        await canned.save_canned(member(inbox, "admin", Role.ADMIN), "zh", "{客户}您好", now)
    assert await inbox.scope.count(CannedResponse) == 0
    saved = await web.post(URL, json={"name": "ok", "text": "Hi {contact.name}"}, headers=admin)
    assert saved.status_code == 201
    changed = await web.patch(f"{URL}/{saved.json()['id']}", json={"text": "Hi {name}"}, headers=admin)
    assert changed.status_code == 400 and "{name}" in changed.json()["detail"]
    bad_language = await web.post(URL, json={"name": "fr", "text": "Salut", "language": "fr"}, headers=admin)
    assert bad_language.status_code == 400


async def test_a_personal_response_is_seen_only_by_its_owner(
    web: httpx.AsyncClient, inbox: Inbox, now: datetime
) -> None:
    agent, other = inbox.bearer("agent"), inbox.bearer("other_agent")
    mine = await web.post(URL, json={"name": "mine", "text": "Cheers, {agent.name}"}, headers=agent)
    assert mine.status_code == 201 and mine.json()["personal"] is True
    item = f"{URL}/{mine.json()['id']}"
    assert [c["name"] for c in (await web.get(URL, headers=agent)).json()["items"]] == ["mine"]
    for outsider in (other, inbox.bearer("admin"), inbox.bearer("viewer")):
        assert (await web.get(URL, headers=outsider)).json()["items"] == []
        assert (await web.get(item, headers=outsider)).status_code == 404
    assert (await web.patch(item, json={"text": "Hijacked"}, headers=other)).status_code == 404
    assert (await web.delete(item, headers=inbox.bearer("admin"))).status_code == 404
    # an agent keeps personal ones only; the workspace's are an admin's
    shared = await web.post(URL, json={"name": "team", "text": "Hello", "personal": False}, headers=agent)
    assert shared.status_code == 403 and "admins and owners" in shared.json()["detail"]
    workspace = await web.post(URL, json={"name": "team", "text": "Hello"}, headers=inbox.bearer("admin"))
    assert workspace.status_code == 201 and workspace.json()["personal"] is False
    assert (await web.patch(f"{URL}/{workspace.json()['id']}", json={"text": "Hey"}, headers=agent)).status_code == 403
    assert [c["name"] for c in (await web.get(URL, headers=agent)).json()["items"]] == ["mine", "team"]
    assert [c["name"] for c in (await web.get(f"{URL}?mine=true", headers=agent)).json()["items"]] == ["mine"]
    assert [c["name"] for c in (await web.get(f"{URL}?mine=false", headers=agent)).json()["items"]] == ["team"]
    # in the reply box too: a member's own are offered to them only (an API token's are the token's alone)
    await canned.save_canned(member(inbox, "agent", Role.AGENT), "own", "Cheers", now)
    await signed_in(web, "agent")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers={"accept": "text/html"})
    assert ">/own</option>" in page.text and ">/team</option>" in page.text and ">/mine</option>" not in page.text
    web.cookies.clear()
    await signed_in(web, "admin")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers={"accept": "text/html"})
    assert ">/own</option>" not in page.text and ">/team</option>" in page.text


async def test_the_api_renders_only_for_conversations_within_the_agents_reach(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    await rename(inbox, "Mia", "Mia Wong", "en")
    saved = await web.post(
        URL, json={"name": "hi", "text": "Hi {contact.first_name}, from {channel.name}"}, headers=inbox.bearer("admin")
    )
    render = f"{URL}/{saved.json()['id']}/render"
    agent = inbox.bearer("agent")  # on Telegram only
    done = await web.post(render, json={"conversation_id": inbox.cid("Mia")}, headers=agent)
    assert done.status_code == 200 and done.json() == {"text": "Hi Mia, from Shop bot"}
    assert (await web.post(render, json={"conversation_id": inbox.cid("Li")}, headers=agent)).status_code == 404
    assert (await web.post(render, json={"conversation_id": "nope"}, headers=agent)).status_code == 404
    viewer = await web.post(render, json={"conversation_id": inbox.cid("Mia")}, headers=inbox.bearer("viewer"))
    assert viewer.status_code == 403
    other = await web.post(render, json={"conversation_id": inbox.cid("Li")}, headers=inbox.bearer("other_agent"))
    assert other.json() == {"text": "Hi Li, from Shop 公众号"}


async def test_the_contacts_language_comes_first(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    admin = member(inbox, "admin", Role.ADMIN)
    await canned.save_canned(admin, "a-zh", "您好", now, language="zh-CN")
    await canned.save_canned(admin, "b-any", "Hello / 您好", now)
    await canned.save_canned(admin, "c-en", "Hello", now, language="en")
    await canned.save_canned(admin, "d-mine", "My hello", now, personal=True, language="en")
    await rename(inbox, "Li", "李小龙", "zh-CN")
    assert await offered(admin, inbox, "Li") == ["a-zh", "b-any", "d-mine", "c-en"]
    assert await offered(admin, inbox, "Mia") == ["d-mine", "c-en", "b-any", "a-zh"]
    await rename(inbox, "Li", "李小龙", "zh")  # a bare `zh` prefers `zh-CN`
    assert (await offered(admin, inbox, "Li"))[0] == "a-zh"
    listed = await web.get(f"{URL}?language=zh-CN", headers=inbox.bearer("admin"))
    assert [c["name"] for c in listed.json()["items"]] == ["a-zh", "b-any"]
    assert (await web.get(f"{URL}?language=fr", headers=inbox.bearer("admin"))).status_code == 400
    await signed_in(web, "admin")
    page = await web.get(f"/inbox/{inbox.cid('Li')}", headers={"accept": "text/html"})
    assert page.text.index(">/a-zh</option>") < page.text.index(">/b-any</option>") < page.text.index(">/c-en</option>")


async def test_a_shortcode_is_unique_per_owner(web: httpx.AsyncClient, inbox: Inbox, now: datetime) -> None:
    admin, agent = inbox.bearer("admin"), inbox.bearer("agent")
    assert (await web.post(URL, json={"name": "Thanks", "text": "Thank you!"}, headers=admin)).status_code == 201
    assert (await web.post(URL, json={"name": "thanks", "text": "Thanks!"}, headers=admin)).status_code == 409
    mine = await web.post(URL, json={"name": "thanks", "text": "Thanks a lot, {contact.name}!"}, headers=agent)
    assert mine.status_code == 201
    assert (await web.post(URL, json={"name": "THANKS", "text": "Again"}, headers=agent)).status_code == 409
    other = await web.post(URL, json={"name": "thanks", "text": "谢谢！"}, headers=inbox.bearer("other_agent"))
    assert other.status_code == 201
    admins_own = await web.post(URL, json={"name": "thanks", "text": "Ta", "personal": True}, headers=admin)
    assert admins_own.status_code == 201
    user = member(inbox, "agent", Role.AGENT)  # the signed-in agent, another owner than their API token
    await canned.save_canned(user, "thanks", "Thanks!", now)
    with pytest.raises(DuplicateKeyError):
        await canned.save_canned(user, "Thanks", "Thanks again", now)
    assert await inbox.scope.count(CannedResponse, {"name": "thanks"}) == 5


async def test_the_reply_box_inserts_the_rendered_text_by_shortcode(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await rename(inbox, "Mia", "Mia Wong", "en")
    text = "Hi {contact.first_name}, {agent.name} here."
    assert (await web.post(URL, json={"name": "greet", "text": text}, headers=inbox.bearer("admin"))).status_code == 201
    await signed_in(web, "agent")
    page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers={"accept": "text/html"})
    assert f'data-render="/inbox/{inbox.cid("Mia")}/canned"' in page.text and 'id="canned-hint"' in page.text
    done = await web.get(f"/inbox/{inbox.cid('Mia')}/canned", params={"name": "GREET"})
    assert done.status_code == 200 and done.text == "Hi Mia, Agent here."
    assert done.headers["content-type"].startswith("text/plain")
    assert (await web.get(f"/inbox/{inbox.cid('Mia')}/canned", params={"name": "nope"})).status_code == 404
    assert (await web.get(f"/inbox/{inbox.cid('Li')}/canned", params={"name": "greet"})).status_code == 404
    # the member's own `/greet` wins over the workspace's
    assert inbox.users["agent"].id is not None
    await inbox.scope.insert(
        CannedResponse(
            workspace_id=inbox.scope.workspace_id,
            name="greet",
            text="Yo {contact.name}",
            owner_user_id=inbox.users["agent"].id,
        )
    )
    assert (await web.get(f"/inbox/{inbox.cid('Mia')}/canned", params={"name": "greet"})).text == "Yo Mia Wong"
    zh_page = await web.get(f"/inbox/{inbox.cid('Mia')}", headers={"accept": "text/html", "accept-language": "zh-CN"})
    assert "短代码" in zh_page.text and "shortcode" in page.text

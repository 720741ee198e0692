"""The canned responses settings page: members keep personal ones, admins the workspace's; refused forms say why in
the reader's language; the preview fills the variables in for a sample contact."""

from __future__ import annotations

import re

import httpx

from scrm.models import CannedResponse
from scrm.web import i18n
from tests.api.conftest import keyed_settings, scope_guard
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, clock, inbox, signed_in, web

__all__ = ["clock", "inbox", "keyed_settings", "scope_guard", "web"]  # the inbox world and its app, as fixtures

SETTINGS = "/inbox/settings/canned"


async def open_settings(web: httpx.AsyncClient, who: str) -> str:
    """Sign in as `who` and open the page; returns the form's CSRF token."""
    await signed_in(web, who)
    page = await web.get(SETTINGS, headers=HTML)
    assert page.status_code == 200 and 'id="canned-form"' in page.text
    return csrf_of(page)


async def stored(inbox: Inbox) -> list[CannedResponse]:
    return await inbox.scope.find(CannedResponse, {}).sort("+name").to_list()


async def test_an_agent_saves_a_personal_one_and_finds_the_page_from_the_inbox(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    token = await open_settings(web, "agent")
    assert f'href="{SETTINGS}"' in (await web.get("/inbox", headers=HTML)).text
    form = {"csrf_token": token, "name": "Thanks", "text": "Thank you, {contact.first_name}!", "language": "en"}
    saved = await web.post(SETTINGS, data={**form, "scope": "personal"}, headers=HTML)
    assert saved.status_code == 303 and saved.headers["location"] == f"{SETTINGS}?saved=created"
    [found] = await stored(inbox)
    assert found.name == "thanks" and found.language == "en"
    assert found.owner_user_id == inbox.users["agent"].id
    page = await web.get(saved.headers["location"], headers=HTML)
    assert 'id="canned-saved"' in page.text and "<code>/thanks</code>" in page.text
    # the reply box offers it
    conversation = await web.get(f"/inbox/{inbox.cid('Mia')}", headers=HTML)
    assert ">/thanks</option>" in conversation.text


async def test_an_agent_cannot_save_a_workspace_one_and_an_admin_can(web: httpx.AsyncClient, inbox: Inbox) -> None:
    token = await open_settings(web, "agent")
    page = await web.get(SETTINGS, headers=HTML)
    assert 'value="workspace"' not in page.text  # not offered
    form = {"csrf_token": token, "name": "hours", "text": "We answer 9-18.", "scope": "workspace"}
    refused = await web.post(SETTINGS, data=form, headers=HTML)
    assert refused.status_code == 403 and 'id="canned-error"' in refused.text
    assert "Only admins and owners save or change the workspace&#39;s canned responses" in refused.text
    assert "We answer 9-18.</textarea>" in refused.text and await stored(inbox) == []

    web.cookies.clear()
    token = await open_settings(web, "admin")
    assert 'value="workspace"' in (await web.get(SETTINGS, headers=HTML)).text
    saved = await web.post(SETTINGS, data={**form, "csrf_token": token}, headers=HTML)
    assert saved.status_code == 303
    [found] = await stored(inbox)
    assert found.name == "hours" and found.owner_user_id is None
    # the agent sees it, but may neither change nor delete it
    web.cookies.clear()
    token = await open_settings(web, "agent")
    page = await web.get(SETTINGS, headers=HTML)
    assert "<code>/hours</code>" in page.text and f"{SETTINGS}/{found.id}/delete" not in page.text
    deleting = await web.post(f"{SETTINGS}/{found.id}/delete", data={"csrf_token": token}, headers=HTML)
    assert deleting.status_code == 403 and len(await stored(inbox)) == 1
    changing = {"csrf_token": token, "name": "hours", "text": "Hijacked", "language": ""}
    assert (await web.post(f"{SETTINGS}/{found.id}", data=changing, headers=HTML)).status_code == 403
    assert (await stored(inbox))[0].text == "We answer 9-18."


async def test_a_duplicate_shortcode_and_an_unknown_variable_are_form_errors_in_both_languages(
    web: httpx.AsyncClient, inbox: Inbox
) -> None:
    token = await open_settings(web, "admin")
    first = {"csrf_token": token, "name": "hi", "text": "Hello {contact.name}", "scope": "workspace"}
    assert (await web.post(SETTINGS, data=first, headers=HTML)).status_code == 303

    duplicate = await web.post(SETTINGS, data={**first, "name": "HI", "text": "Again"}, headers=HTML)
    assert duplicate.status_code == 409 and "The shortcode /hi is already taken" in duplicate.text
    assert "Again</textarea>" in duplicate.text
    unknown = {**first, "name": "order", "text": "Your order {order.id} ships"}
    refused = await web.post(SETTINGS, data=unknown, headers=HTML)
    assert (
        refused.status_code == 400 and "Unknown variable {order.id}; the variables are {contact.name}" in refused.text
    )

    web.cookies.set(i18n.COOKIE, "zh-CN")
    duplicate = await web.post(SETTINGS, data={**first, "text": "Again"}, headers=HTML)
    assert duplicate.status_code == 409 and "快捷码 /hi 已被使用，请换一个。" in duplicate.text
    refused = await web.post(SETTINGS, data=unknown, headers=HTML)
    assert refused.status_code == 400 and "未知变量 {order.id}；可用的变量有 {contact.name}" in refused.text
    # renaming another one onto a taken shortcode is the same form error, not a 500
    second = await web.post(SETTINGS, data={**first, "name": "bye", "text": "Bye"}, headers=HTML)
    assert second.status_code == 303
    bye = next(c for c in await stored(inbox) if c.name == "bye")
    renamed = await web.post(f"{SETTINGS}/{bye.id}", data={**first, "language": ""}, headers=HTML)
    assert renamed.status_code == 409 and "快捷码 /hi 已被使用" in renamed.text
    assert [c.name for c in await stored(inbox)] == ["bye", "hi"]


async def test_edit_filter_and_delete(web: httpx.AsyncClient, inbox: Inbox) -> None:
    token = await open_settings(web, "admin")
    for name, language in (("a-en", "en"), ("b-zh", "zh-CN"), ("c-any", "")):
        form = {"csrf_token": token, "name": name, "text": f"Text of {name}", "language": language}
        assert (await web.post(SETTINGS, data={**form, "scope": "workspace"}, headers=HTML)).status_code == 303
    only_zh = await web.get(f"{SETTINGS}?language=zh-CN", headers=HTML)
    assert "<code>/b-zh</code>" in only_zh.text and "<code>/a-en</code>" not in only_zh.text
    assert "<code>/c-any</code>" not in only_zh.text
    only_any = await web.get(f"{SETTINGS}?language=any", headers=HTML)
    assert re.findall(r"<code>/([\w-]+)</code>", only_any.text) == ["c-any"]

    a_en = next(c for c in await stored(inbox) if c.name == "a-en")
    editing = await web.get(f"{SETTINGS}?edit={a_en.id}", headers=HTML)
    assert f'action="{SETTINGS}/{a_en.id}"' in editing.text and "Text of a-en</textarea>" in editing.text
    changed = {"csrf_token": token, "name": "a-zh", "text": "您好 {contact.name}", "language": "zh-CN"}
    assert (await web.post(f"{SETTINGS}/{a_en.id}", data=changed, headers=HTML)).status_code == 303
    again = next(c for c in await stored(inbox) if c.id == a_en.id)
    assert (again.name, again.text, again.language) == ("a-zh", "您好 {contact.name}", "zh-CN")

    deleted = await web.post(f"{SETTINGS}/{a_en.id}/delete", data={"csrf_token": token}, headers=HTML)
    assert deleted.status_code == 303 and deleted.headers["location"] == f"{SETTINGS}?saved=deleted"
    assert [c.name for c in await stored(inbox)] == ["b-zh", "c-any"]


async def test_many_are_paginated(web: httpx.AsyncClient, inbox: Inbox) -> None:
    token = await open_settings(web, "agent")
    for n in range(23):
        form = {"csrf_token": token, "name": f"r{n:02d}", "text": "Hi", "scope": "personal"}
        assert (await web.post(SETTINGS, data=form, headers=HTML)).status_code == 303
    first = await web.get(SETTINGS, headers=HTML)
    names = re.findall(r"<code>/([\w-]+)</code>", first.text)
    assert len(names) == 20 and names[0] == "r00" and 'rel="next"' in first.text
    second = await web.get(f"{SETTINGS}?page=2", headers=HTML)
    assert re.findall(r"<code>/([\w-]+)</code>", second.text) == ["r20", "r21", "r22"]
    assert "Page 2 of 2 (23 in all)" in second.text


async def test_the_preview_fills_the_variables_for_a_sample_contact(web: httpx.AsyncClient, inbox: Inbox) -> None:
    token = await open_settings(web, "agent")
    text = "Hi {contact.first_name} ({contact.name}), {agent.name} of {workspace.name} on {channel.name}. {oops}"
    preview = await web.post(f"{SETTINGS}/preview", data={"csrf_token": token, "text": text}, headers=HTML)
    assert preview.status_code == 200 and 'id="canned-preview"' in preview.text
    assert "Hi Mia (Mia Wong), Agent of Shop on Shop bot. {oops}" in preview.text  # the agent sees Telegram only
    assert "Not a variable: {oops}" in preview.text
    web.cookies.set(i18n.COOKIE, "zh-CN")
    chinese = await web.post(f"{SETTINGS}/preview", data={"csrf_token": token, "text": "{contact.first_name}您好"})
    assert "王小明您好" in chinese.text and "示例联系人" in chinese.text


async def test_every_form_needs_the_csrf_token(web: httpx.AsyncClient, inbox: Inbox) -> None:
    token = await open_settings(web, "admin")
    form = {"csrf_token": token, "name": "kept", "text": "Kept", "scope": "workspace"}
    assert (await web.post(SETTINGS, data=form, headers=HTML)).status_code == 303
    [kept] = await stored(inbox)
    forged = {**form, "csrf_token": "forged", "name": "new"}
    assert (await web.post(SETTINGS, data=forged, headers=HTML)).status_code == 403
    assert (await web.post(f"{SETTINGS}/{kept.id}", data=forged, headers=HTML)).status_code == 403
    assert (await web.post(f"{SETTINGS}/{kept.id}/delete", data={}, headers=HTML)).status_code == 403
    assert (await web.post(f"{SETTINGS}/preview", data={"text": "x"}, headers=HTML)).status_code == 403
    assert [(c.name, c.text) for c in await stored(inbox)] == [("kept", "Kept")]


async def test_viewers_are_kept_out(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "viewer")
    assert (await web.get(SETTINGS, headers=HTML)).status_code == 403

"""The CSAT settings page: owners and admins turn the survey on and set its question in both languages."""

from __future__ import annotations

import httpx

from scrm.inbox.csat import csat_settings
from scrm.models import CsatSettings
from scrm.web import i18n
from tests.auth.forms import HTML, csrf_of
from tests.inbox.conftest import Inbox, signed_in

SETTINGS = "/inbox/settings/csat"


async def test_admins_turn_the_survey_on_and_set_its_question(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    inbox_page = await web.get("/inbox", headers=HTML)
    assert f'href="{SETTINGS}"' in inbox_page.text
    page = await web.get(SETTINGS, headers=HTML)
    assert page.status_code == 200 and 'id="csat-settings-form"' in page.text
    assert CsatSettings().question_en in page.text and 'id="csat-enabled" >' in page.text  # the defaults, off
    form = {"csrf_token": csrf_of(page), "enabled": "1", "question_en": " Rate us 1-5? ", "question_zh": "请打分 1-5"}
    saved = await web.post(SETTINGS, data=form, headers=HTML)
    assert saved.status_code == 303 and saved.headers["location"] == f"{SETTINGS}?saved=1"
    stored = await csat_settings(inbox.scope.workspace_id)
    assert stored == CsatSettings(enabled=True, question_en="Rate us 1-5?", question_zh="请打分 1-5")
    shown = await web.get(saved.headers["location"], headers=HTML)
    assert 'id="csat-saved"' in shown.text and "Rate us 1-5?</textarea>" in shown.text
    assert 'id="csat-enabled" checked>' in shown.text
    api = await web.get("/api/v1/csat/settings", headers=inbox.bearer("admin"))
    assert api.json() == {"enabled": True, "question_en": "Rate us 1-5?", "question_zh": "请打分 1-5"}
    off = {"csrf_token": csrf_of(shown), "question_en": "Rate us 1-5?", "question_zh": "请打分 1-5"}
    assert (await web.post(SETTINGS, data=off, headers=HTML)).status_code == 303
    assert (await csat_settings(inbox.scope.workspace_id)).enabled is False  # an unticked box turns it off
    web.cookies.set(i18n.COOKIE, "zh-CN")
    assert "满意度调查（CSAT）" in (await web.get(SETTINGS, headers=HTML)).text


async def test_a_refused_question_is_shown_again_as_typed(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    token = csrf_of(await web.get(SETTINGS, headers=HTML))
    form = {"csrf_token": token, "enabled": "1", "question_en": "Typed but kept", "question_zh": "   "}
    refused = await web.post(SETTINGS, data=form, headers=HTML)
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert "each question has 1 to 500 characters" in refused.text
    assert "Typed but kept</textarea>" in refused.text and 'id="csat-enabled" checked>' in refused.text
    assert await csat_settings(inbox.scope.workspace_id) == CsatSettings()  # nothing stored
    too_long = {**form, "question_zh": "好" * 501}
    assert (await web.post(SETTINGS, data=too_long, headers=HTML)).status_code == 400


async def test_agents_and_forged_posts_are_kept_out(web: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_in(web, "admin")
    form = {"csrf_token": "forged", "enabled": "1", "question_en": "Rate?", "question_zh": "打分？"}
    assert (await web.post(SETTINGS, data=form, headers=HTML)).status_code == 403
    assert (await csat_settings(inbox.scope.workspace_id)).enabled is False
    token = csrf_of(await web.get(SETTINGS, headers=HTML))
    await web.post("/logout", data={"csrf_token": token}, headers=HTML)
    await signed_in(web, "agent")
    assert (await web.get(SETTINGS, headers=HTML)).status_code == 403
    agent_token = csrf_of(await web.get("/inbox", headers=HTML))
    assert (await web.post(SETTINGS, data={**form, "csrf_token": agent_token}, headers=HTML)).status_code == 403
    assert (await csat_settings(inbox.scope.workspace_id)).enabled is False
    assert f'href="{SETTINGS}"' not in (await web.get("/inbox", headers=HTML)).text

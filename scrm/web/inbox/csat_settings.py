"""The CSAT settings page: whether resolving a conversation sends the satisfaction survey, and its question.

One plain form, posted and answered with a redirect, or with the page again (400) keeping what was typed and
saying what is wrong; only owners and admins reach it (those who may `PUT /api/v1/csat/settings`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.response import Redirect, Template

from scrm.auth.roles import Principal
from scrm.inbox import csat
from scrm.models import CsatSettings
from scrm.web.inbox.pages import form_principal, principal_of, signed_in_of
from scrm.web.inbox.sla_chip import MANAGE_SLA
from scrm.web.pages import page_context

SETTINGS_PATH = "/inbox/settings/csat"
MANAGE = MANAGE_SLA
"""Owners and admins, as for the SLA settings and the API's `PUT /csat/settings`."""


class CsatFormData(msgspec.Struct):
    """The survey form: a ticked `enabled` sends the survey on resolve; the question in English and Chinese."""

    csrf_token: str = ""
    enabled: str = ""
    question_en: str = ""
    question_zh: str = ""


async def settings_page(
    request: Request[Any, Any, Any], principal: Principal, status_code: int = 200, **shown: Any
) -> Template:
    """The page, showing the stored settings unless `shown` carries a refused form's values."""
    settings = shown.pop("settings", None) or await csat.csat_settings(principal.workspace_id)
    values = {
        "settings": settings,
        "max_length": csat.MAX_QUESTION_LENGTH,
        "csrf_token": signed_in_of(request).csrf_token,
        "saved": request.query_params.get("saved", "") == "1",
        "error": None,
    }
    context = page_context(request, "inbox", **(values | shown))
    return Template(template_name="inbox_csat_settings.html", context=context, status_code=status_code)


async def show_settings(request: Request[Any, Any, Any]) -> Template:
    """GET: the settings page (owners and admins)."""
    return await settings_page(request, principal_of(request, MANAGE))


async def save_settings(request: Request[Any, Any, Any], data: CsatFormData) -> Redirect | Template:
    """POST: store the settings, or show the page again (400) with what was typed and why it was refused."""
    principal = form_principal(request, data, MANAGE)
    typed = CsatSettings(enabled=bool(data.enabled), question_en=data.question_en, question_zh=data.question_zh)
    try:
        await csat.save_csat_settings(principal.workspace_id, typed)
    except csat.CsatInputError as exc:
        return await settings_page(request, principal, 400, settings=typed, error=str(exc))
    return Redirect(path=f"{SETTINGS_PATH}?saved=1", status_code=303)

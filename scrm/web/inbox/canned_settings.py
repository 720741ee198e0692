"""The canned responses settings page: list, create, edit and delete the saved replies of the reply box.

Anyone who works the inbox keeps personal ones; the workspace's are for admins and owners, as in the API
(`scrm.inbox.canned`, whose checks the forms go through). A refused form comes back (400, 403 or 409) keeping
what was typed, with the reason in the reader's language. The variables' preview is rendered by the server for
a sample contact (htmx posts the form to `/preview` as one types).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from pymongo.errors import DuplicateKeyError

from scrm.auth.clock import now_of
from scrm.auth.roles import Permission, Principal
from scrm.auth.visibility import channel_filter
from scrm.inbox import canned
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.replies import MAX_REPLY_LENGTH
from scrm.models import CannedResponse, Channel, NotInWorkspace
from scrm.web import i18n
from scrm.web.inbox.controller import UI_ERRORS
from scrm.web.inbox.pages import form_principal, principal_of, signed_in_of
from scrm.web.pages import page_context

PATH = "/inbox/settings/canned"
PAGE_SIZE = 20
LANGUAGE_FILTERS = ("all", "any", *canned.LANGUAGES)
"""`all`: every language; `any`: those written for any contact; else one language."""
SAMPLE_CONTACT = {"en": "Mia Wong", "zh-CN": "王小明"}


class CannedForm(msgspec.Struct):
    """A canned response as typed: shortcode, text, language (empty: any) and scope (`personal`, `workspace`)."""

    csrf_token: str = ""
    name: str = ""
    text: str = ""
    language: str = ""
    scope: str = "personal"


class DeleteForm(msgspec.Struct):
    """The delete button: only the session's CSRF token."""

    csrf_token: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One canned response in the list, and whether the reader may change it."""

    canned: CannedResponse
    personal: bool
    editable: bool


def _editable(principal: Principal, found: CannedResponse) -> bool:
    return found.owner_user_id is not None or canned.may_share(principal)


def _language_filter(value: str | None) -> str:
    return value if value in LANGUAGE_FILTERS else "all"


def _page_number(value: str | None) -> int:
    return max(1, int(value)) if value and value.isdigit() else 1


async def _rows(principal: Principal, language: str) -> list[Row]:
    """The workspace's canned responses and the reader's own, by name, in one language (or all)."""
    found = await canned.canned_responses(principal)
    if language != "all":
        wanted = None if language == "any" else language
        found = [c for c in found if c.language == wanted]
    return [Row(c, c.owner_user_id is not None, _editable(principal, c)) for c in found]


async def sample_values(request: Request[Any, Any, Any], principal: Principal, lang: str) -> dict[str, str]:
    """The variables' values for the preview: a sample contact, the reader, a channel and the workspace."""
    signed_in = signed_in_of(request)
    channel = await principal.scope.find(Channel, channel_filter(principal)).sort("+name").first_or_none()
    name = SAMPLE_CONTACT.get(lang, SAMPLE_CONTACT["en"])
    workspace = signed_in.workspace
    return {
        "contact.name": name,
        "contact.first_name": name.split()[0],
        "agent.name": signed_in.user.display_name or signed_in.user.email.split("@")[0],
        "channel.name": channel.name if channel else i18n.Translator(lang)("canned_settings.sample_channel"),
        "workspace.name": (workspace.display_name or workspace.name) if workspace else "",
    }


async def preview_context(request: Request[Any, Any, Any], principal: Principal, text: str) -> dict[str, Any]:
    """The preview of `text` for the sample contact, and the variables it uses that do not exist."""
    lang = i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    values = await sample_values(request, principal, lang)
    rendered = canned.VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text.strip())
    unknown = ", ".join("{" + v + "}" for v in canned.unknown_variables(text))
    return {"preview": rendered, "preview_unknown": unknown, "sample": values}


def error_text(lang: str, exc: Exception, form: CannedForm) -> str:
    """Why the form was refused, in the reader's language, in the order `canned` checks a canned response."""
    t = i18n.Translator(lang)
    if isinstance(exc, DuplicateKeyError):
        return t("canned_settings.error.duplicate", name=form.name.lower())
    if isinstance(exc, canned.CannedRefused):
        return t("canned_settings.error.workspace_only")
    if not canned.NAME.match(form.name):
        return t("canned_settings.error.name")
    if not form.text.strip() or len(form.text.strip()) > MAX_REPLY_LENGTH:
        return t("canned_settings.error.text", max=MAX_REPLY_LENGTH)
    unknown = canned.unknown_variables(form.text.strip())
    if unknown:
        listed = ", ".join("{" + v + "}" for v in unknown)
        known = ", ".join("{" + v + "}" for v in canned.VARIABLES)
        return t("canned_settings.error.unknown", names=listed, known=known)
    if form.language and form.language not in canned.LANGUAGES:
        return t("canned_settings.error.language")
    return str(exc)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, DuplicateKeyError):
        return 409
    return 403 if isinstance(exc, canned.CannedRefused) else 400


async def settings_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    status_code: int = 200,
    *,
    form: CannedForm | None = None,
    editing: CannedResponse | None = None,
    error: str | None = None,
) -> Template:
    """The page: the filtered list (a page of it), and the form to create one or to edit `editing`."""
    params = request.query_params
    language = _language_filter(params.get("language"))
    rows = await _rows(principal, language)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(_page_number(params.get("page")), pages)
    if form is None:
        form = CannedForm(scope="personal" if not canned.may_share(principal) else "workspace")
        if editing is not None:
            form = CannedForm(name=editing.name, text=editing.text, language=editing.language or "")
    values = {
        "rows": rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(rows),
        "page_number": page,
        "pages": pages,
        "language": language,
        "language_filters": LANGUAGE_FILTERS,
        "canned_languages": canned.LANGUAGES,
        "variables": canned.VARIABLES,
        "may_share": canned.may_share(principal),
        "form": form,
        "editing": editing,
        "error": error,
        "saved": params.get("saved", ""),
        "csrf_token": signed_in_of(request).csrf_token,
        "max_length": MAX_REPLY_LENGTH,
        **await preview_context(request, principal, form.text),
    }
    context = page_context(request, "inbox", **values)
    return Template(template_name="inbox_canned_settings.html", context=context, status_code=status_code)


def _parse_id(value: str) -> PydanticObjectId:
    if not PydanticObjectId.is_valid(value):
        raise NotInWorkspace(f"No canned response {value}")
    return PydanticObjectId(value)


def _language_of(form: CannedForm) -> str | None:
    return form.language or None


class CannedSettingsController(Controller):
    """`/inbox/settings/canned`: the canned responses of the reader (personal) and of the workspace."""

    path = PATH
    include_in_schema = False
    exception_handlers = UI_ERRORS

    @get("/", name="inbox_canned_settings")
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        """The list (`language`, `page`), with the form to create one, or to edit one (`edit`: its id)."""
        principal = principal_of(request, Permission.WORK_INBOX)
        edit = request.query_params.get("edit")
        editing = await canned.get_canned(principal, _parse_id(edit)) if edit else None
        if editing is not None and not _editable(principal, editing):
            editing = None
        return await settings_page(request, principal, editing=editing)

    @post("/", name="inbox_canned_create")
    async def create(self, request: Request[Any, Any, Any], data: URLEncodedBody[CannedForm]) -> Redirect | Template:
        """Save a new canned response; the page again (400, 403, 409) with the reason when refused."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        try:
            await canned.save_canned(
                principal,
                data.name,
                data.text,
                now_of(request.app.state),
                personal=data.scope != "workspace",
                language=_language_of(data),
            )
        except (InboxInputError, canned.CannedRefused, DuplicateKeyError) as exc:
            return await self._refused(request, principal, exc, data)
        return Redirect(path=f"{PATH}?saved=created", status_code=303)

    @post("/preview", name="inbox_canned_preview", status_code=200)
    async def preview(self, request: Request[Any, Any, Any], data: URLEncodedBody[CannedForm]) -> Template:
        """The text with its variables filled in for the sample contact (an htmx fragment)."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        context = page_context(request, "inbox", **await preview_context(request, principal, data.text))
        return Template(template_name="inbox_canned_preview.html", context=context)

    @post("/{canned_id:str}", name="inbox_canned_update")
    async def update(
        self, request: Request[Any, Any, Any], canned_id: FromPath[str], data: URLEncodedBody[CannedForm]
    ) -> Redirect | Template:
        """Rename or rewrite a canned response, or change its language."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        found = await canned.get_canned(principal, _parse_id(canned_id))
        assert found.id is not None
        try:
            await canned.change_canned(principal, found.id, data.name, data.text, {"language": _language_of(data)})
        except (InboxInputError, canned.CannedRefused, DuplicateKeyError) as exc:
            return await self._refused(request, principal, exc, data, found)
        return Redirect(path=f"{PATH}?saved=changed", status_code=303)

    @post("/{canned_id:str}/delete", name="inbox_canned_delete")
    async def remove(
        self, request: Request[Any, Any, Any], canned_id: FromPath[str], data: URLEncodedBody[DeleteForm]
    ) -> Redirect | Template:
        """Delete a canned response (403 page for a workspace one when the reader is not an admin or owner)."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        try:
            await canned.delete_canned(principal, _parse_id(canned_id))
        except canned.CannedRefused as exc:
            return await self._refused(request, principal, exc, CannedForm())
        return Redirect(path=f"{PATH}?saved=deleted", status_code=303)

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        exc: Exception,
        form: CannedForm,
        editing: CannedResponse | None = None,
    ) -> Template:
        lang = i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
        reason = error_text(lang, exc, form)
        return await settings_page(request, principal, _status_of(exc), form=form, editing=editing, error=reason)

"""The inbox's contact panel: edit the profile, read the lifetime timeline, merge (with a preview first) and
unmerge, block and unblock; and the thread's older history a page at a time.

Reads are htmx fragments (each also works as a plain link). The edit form posts with htmx and gets the panel
back in place; without JavaScript it posts and is redirected back to the conversation. Merge, unmerge and
block are ordinary form posts answered with a redirect, like the inbox's other actions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import ClientException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from scrm.auth.clock import now_of
from scrm.auth.roles import Permission, Principal
from scrm.contacts import merge_actions
from scrm.contacts.editing import ContactInputError, edit_contact, parse_attribute_lines, set_blocked, visible_contact
from scrm.contacts.merge import MergeRefused
from scrm.contacts.timeline import TimelineInputError, contact_timeline
from scrm.inbox import actions
from scrm.inbox.actions import parse_conversation_id
from scrm.inbox.view import thread_page
from scrm.models import Channel, Contact
from scrm.web.errors import handle_error
from scrm.web.inbox.controller import UI_ERRORS
from scrm.web.inbox.filters import ListQuery
from scrm.web.inbox.pages import form_principal, principal_of, signed_in_of, thread_context
from scrm.web.pages import page_context


class ContactForm(msgspec.Struct):
    """The panel's forms: CSRF, where to come back to, and the fields of whichever form it is."""

    csrf_token: str = ""
    conversation: str = ""
    filters: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    timezone: str = ""
    tags: str = ""
    attributes: str = ""
    other: str = ""
    merge: str = ""
    blocked: str = ""


def _bad_input(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, ClientException(str(exc)))


PANEL_ERRORS: ExceptionHandlersMap = {
    **UI_ERRORS,
    ContactInputError: _bad_input,
    TimelineInputError: _bad_input,
    MergeRefused: _bad_input,
}


def _contact_id(value: str) -> PydanticObjectId:
    if not PydanticObjectId.is_valid(value):
        raise ClientException(f"No contact {value!r}")
    return PydanticObjectId(value)


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _back(data: ContactForm) -> Redirect:
    query = ListQuery.from_params(dict(parse_qsl(data.filters))).query_string()
    suffix = f"?{query}" if query else ""
    if PydanticObjectId.is_valid(data.conversation):
        return Redirect(path=f"/inbox/{data.conversation}{suffix}", status_code=303)
    return Redirect(path=f"/inbox{suffix}", status_code=303)


async def card_context(
    request: Request[Any, Any, Any], principal: Principal, contact: Contact, conversation: str, filters: str
) -> dict[str, Any]:
    """What the contact card needs when drawn on its own (the inbox page draws it with the conversation)."""
    return {
        "contact": contact,
        "contact_conversation": conversation if PydanticObjectId.is_valid(conversation) else "",
        "qs": ListQuery.from_params(dict(parse_qsl(filters))).query_string(),
        "csrf_token": signed_in_of(request).csrf_token,
        "can_edit_contact": principal.can(Permission.EDIT_CONTACTS),
    }


class ContactPanelController(Controller):
    """The contact panel's fragments and forms, under `/inbox/contacts/{id}`."""

    path = "/inbox/contacts"
    include_in_schema = False
    exception_handlers = PANEL_ERRORS

    def _fragment(
        self, request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any
    ) -> Template:
        """A fragment for htmx, or the same fragment framed as a page for a plain link."""
        frame = "inbox_contact_frame.html"
        context = page_context(request, "inbox", fragment=template, bare=_is_htmx(request), **context)
        return Template(template_name=frame, context=context, status_code=status_code)

    @get("/{contact_id:str}/card", name="contact_card")
    async def card(self, request: Request[Any, Any, Any], contact_id: FromPath[str]) -> Template:
        """The contact card alone (what the edit form's Cancel brings back)."""
        principal = principal_of(request)
        contact = await visible_contact(principal, _contact_id(contact_id))
        params = request.query_params
        context = await card_context(request, principal, contact, params.get("conversation", ""), "")
        return self._fragment(request, "inbox_contact.html", **context)

    @post("/{contact_id:str}/edit", name="contact_edit")
    async def edit(
        self, request: Request[Any, Any, Any], contact_id: FromPath[str], data: URLEncodedBody[ContactForm]
    ) -> Template | Redirect:
        """Save the edit form; a wrong field comes back in the form with what is wrong (422 without htmx)."""
        principal = form_principal(request, data, Permission.EDIT_CONTACTS)
        oid = _contact_id(contact_id)
        try:
            changes = {
                "name": data.name,
                "email": data.email,
                "phone": data.phone,
                "language": data.language,
                "timezone": data.timezone,
                "tags": data.tags,
                "attributes": parse_attribute_lines(data.attributes),
            }
            contact = await edit_contact(principal, oid, changes, now_of(request.app.state))
        except ContactInputError as exc:
            contact = await visible_contact(principal, oid)
            context = await card_context(request, principal, contact, data.conversation, data.filters)
            context |= {"edit_error": str(exc), "edit_values": data}
            return self._fragment(request, "inbox_contact.html", 200 if _is_htmx(request) else 422, **context)
        if not _is_htmx(request):
            return _back(data)
        context = await card_context(request, principal, contact, data.conversation, data.filters)
        return self._fragment(request, "inbox_contact.html", saved=True, **context)

    @post("/{contact_id:str}/block", name="contact_block")
    async def block(
        self, request: Request[Any, Any, Any], contact_id: FromPath[str], data: URLEncodedBody[ContactForm]
    ) -> Redirect:
        """Block (`blocked=1`) or unblock (`blocked=0`) the contact."""
        principal = form_principal(request, data, Permission.EDIT_CONTACTS)
        await set_blocked(principal, _contact_id(contact_id), data.blocked == "1", now_of(request.app.state))
        return _back(data)

    @get("/{contact_id:str}/timeline", name="contact_timeline")
    async def timeline(self, request: Request[Any, Any, Any], contact_id: FromPath[str]) -> Template:
        """A page of the contact's lifetime activity, with a "load more" for the next."""
        principal = principal_of(request)
        contact = await visible_contact(principal, _contact_id(contact_id))
        assert contact.id is not None
        page = await contact_timeline(principal, contact.id, request.query_params.get("cursor"))
        channel_ids = sorted({i.channel_id for i in page.items if i.channel_id is not None})
        channels = await principal.scope.find(Channel, {"_id": {"$in": channel_ids}}).to_list()
        names = {str(c.id): c.name for c in channels}
        return self._fragment(
            request, "inbox_contact_timeline.html", contact=contact, timeline=page, channel_names=names
        )

    @get("/{contact_id:str}/merge", name="contact_merge")
    async def merge_panel(self, request: Request[Any, Any, Any], contact_id: FromPath[str]) -> Template:
        """Open suggestions, a search for the contact to merge with, a preview (`into`), and the merge history."""
        principal = principal_of(request)
        contact = await visible_contact(principal, _contact_id(contact_id))
        assert contact.id is not None
        params = request.query_params
        other = params.get("other", "")
        preview = None
        if other:
            preview = await merge_actions.preview(principal, _contact_id(other), contact.id)
        context: dict[str, Any] = {
            "contact": contact,
            "contact_conversation": params.get("conversation", ""),
            "qs": params.get("filters", ""),
            "search": params.get("q", ""),
            "found": await merge_actions.search_contacts(principal, params.get("q", ""), contact.id),
            "suggested": await merge_actions.open_suggestions(principal, contact.id),
            "history": await merge_actions.merge_history(principal, contact.id),
            "preview": preview,
            "csrf_token": signed_in_of(request).csrf_token,
            "can_edit_contact": principal.can(Permission.EDIT_CONTACTS),
        }
        return self._fragment(request, "inbox_contact_merge.html", **context)

    @post("/{contact_id:str}/merge", name="contact_merge_do")
    async def merge(
        self, request: Request[Any, Any, Any], contact_id: FromPath[str], data: URLEncodedBody[ContactForm]
    ) -> Redirect:
        """Merge the contact `other` into this one (this one stays), after the preview."""
        principal = form_principal(request, data, Permission.EDIT_CONTACTS)
        now = now_of(request.app.state)
        await merge_actions.merge(principal, _contact_id(data.other), _contact_id(contact_id), now)
        return _back(data)

    @post("/{contact_id:str}/unmerge", name="contact_unmerge")
    async def unmerge(
        self, request: Request[Any, Any, Any], contact_id: FromPath[str], data: URLEncodedBody[ContactForm]
    ) -> Redirect:
        """Undo a merge of the history: both contacts as they were."""
        principal = form_principal(request, data, Permission.EDIT_CONTACTS)
        named = _contact_id(data.merge) if data.merge else None
        await merge_actions.unmerge(principal, _contact_id(contact_id), named, now_of(request.app.state))
        return _back(data)


class ThreadHistoryController(Controller):
    """The thread's older messages, a page at a time (`/inbox/{id}/thread/older?cursor=`)."""

    path = "/inbox"
    include_in_schema = False
    exception_handlers = PANEL_ERRORS

    @get("/{conversation_id:str}/thread/older", name="inbox_thread_older")
    async def older(self, request: Request[Any, Any, Any], conversation_id: FromPath[str]) -> Template:
        """The page of the thread before `cursor`, with the button that loads the one before it."""
        principal = principal_of(request)
        conversation = await actions.get_conversation(principal, parse_conversation_id(conversation_id))
        assert conversation.id is not None
        cursor = request.query_params.get("cursor", "")
        if not cursor:
            raise ClientException("Pass the cursor of the oldest message shown")
        page = await thread_page(principal, conversation.id, before=cursor)
        context = page_context(request, "inbox", entries=page.entries, conversation=conversation, older=page)
        context |= thread_context(request, principal)
        return Template(template_name="inbox_thread_older.html", context=context)

"""The web inbox: `/inbox` (the list) and `/inbox/{id}` (one conversation), and the forms that work it.

Live updates come by server-sent events (`/inbox/events`, `scrm.web.inbox.live_events`): an `inbox-changed`
event makes the list and the open thread re-fetch the same server-rendered fragments (`/inbox/list`,
`/inbox/{id}/thread`) the page was built from, so there is one rendering path. A 5 s poll added 2.5 s on
average and 5 s at worst before the page even asked, so it could not show a new message within 2 s of
ingestion; the events do, and a slow poll (30 s) remains for when the stream is down.

Actions are ordinary form posts answered with a redirect (post/redirect/get), so they work without
JavaScript and a reload never posts twice; the reply form carries a fresh idempotency key each time it is
drawn, which the outbox turns into a unique dedupe key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from scrm.auth.clock import now_of
from scrm.auth.roles import Permission
from scrm.inbox import actions, notes, replies
from scrm.inbox import canned as canned_replies
from scrm.inbox.actions import parse_conversation_id
from scrm.inbox.availability import note_activity
from scrm.inbox.bulk import BulkChange, apply_to_many
from scrm.inbox.conversations import InboxInputError, user_id_of
from scrm.inbox.teams import parse_team_ref
from scrm.inbox.view import open_conversation, thread_entries
from scrm.models import ConversationStatus, NotInWorkspace
from scrm.tag_corrections import correct_in_conversation
from scrm.web import i18n
from scrm.web.errors import handle_error
from scrm.web.inbox import csat_settings as csat_page
from scrm.web.inbox import mentions as mentions_page
from scrm.web.inbox import meta_reply
from scrm.web.inbox import sla as sla_page
from scrm.web.inbox.filters import INTENTS, SENTIMENTS, ListQuery
from scrm.web.inbox.pages import (
    conversation_context,
    form_principal,
    list_context,
    principal_of,
    signed_in_of,
    thread_context,
)
from scrm.web.inbox.presence import PresenceForm, csat_context, presence_context, presence_poll, presence_signal
from scrm.web.inbox.window_text import refusal_detail, request_language
from scrm.web.pages import page_context

SNOOZE_CHOICES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1), "7d": timedelta(days=7)}


class InboxForm(msgspec.Struct):
    """What every inbox form sends: its CSRF token and the list filters to come back to."""

    csrf_token: str = ""
    filters: str = ""
    text: str = ""
    idempotency_key: str = ""
    label: str = ""
    assignee: str = ""
    status: str = ""
    snooze: str = ""
    sentiment: str = ""
    intent: str = ""
    shown_sentiment: str = ""
    shown_intent: str = ""
    """The labels the correction form showed: only what the person changed from them is a correction."""


class BulkForm(msgspec.Struct):
    """The list's bulk bar: the selected conversations and what to do to them."""

    csrf_token: str = ""
    filters: str = ""
    ids: list[str] | str = msgspec.field(default_factory=list)
    """A form sends one ticked box as a single value, several as a list."""
    action: str = ""
    label: str = ""
    team: str = ""
    """With `action=team`: the team to move them to, or `none` for no team."""


BULK_STATUS = {"resolved": ConversationStatus.RESOLVED, "open": ConversationStatus.OPEN}


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, NotFoundException(str(exc)))


def _bad_input(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, ClientException(str(exc)))


UI_ERRORS: ExceptionHandlersMap = {NotInWorkspace: _not_found, InboxInputError: _bad_input}


def _refusal(request: Request[Any, Any, Any], refused: replies.ReplyRefused) -> str:
    """Why a reply was refused, in the reader's language."""
    return refusal_detail(
        request_language(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")), refused
    )


def _now(request: Request[Any, Any, Any]) -> datetime:
    return now_of(request.app.state)


def _query(request: Request[Any, Any, Any]) -> ListQuery:
    return ListQuery.from_params(dict(request.query_params))


async def _note_activity(request: Request[Any, Any, Any]) -> None:
    """Every inbox request keeps its member "seen" for auto-assignment (at most one write a minute per user)."""
    principal = signed_in_of(request).principal()
    user_id = user_id_of(principal) if principal is not None else None
    if principal is not None and user_id is not None:
        await note_activity(principal.scope, user_id, _now(request))


class InboxController(Controller):
    """The inbox pages and their forms."""

    path = "/inbox"
    include_in_schema = False
    exception_handlers = UI_ERRORS
    before_request = staticmethod(_note_activity)

    @get("/", name="inbox")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        """The conversation list with its filters, counts and keyboard hints."""
        principal = principal_of(request)
        context = await list_context(principal, _query(request), request.query_params.get("cursor"), _now(request))
        csrf = signed_in_of(request).csrf_token
        context["mention_count"] = await mentions_page.mention_count(principal)
        return Template(
            template_name="inbox.html", context=page_context(request, "inbox", **context, view=None, csrf_token=csrf)
        )

    @post("/bulk", name="inbox_bulk")
    async def bulk(self, request: Request[Any, Any, Any], data: URLEncodedBody[BulkForm]) -> Redirect:
        """Resolve, reopen, assign to me, label or move to a team the conversations ticked in the list."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        to_team = data.action == "team"
        change = BulkChange(
            status=BULK_STATUS.get(data.action),
            assignee_id=user_id_of(principal) if data.action == "assign_me" else None,
            add_label=data.label if data.action == "label" else None,
            team_id=parse_team_ref(data.team) if to_team and data.team != "none" else None,
            no_team=to_team and data.team == "none",
        )
        ticked = [data.ids] if isinstance(data.ids, str) else data.ids
        ids = [parse_conversation_id(i) for i in ticked if PydanticObjectId.is_valid(i)]
        await apply_to_many(principal, ids, change, _now(request))
        query = ListQuery.from_params(dict(parse_qsl(data.filters))).query_string()
        return Redirect(path="/inbox" + (f"?{query}" if query else ""), status_code=303)

    @get("/list", name="inbox_list")
    async def list_fragment(self, request: Request[Any, Any, Any]) -> Template:
        """The list alone, for htmx: refreshed on an event, by the fallback poll and by changing a filter."""
        principal = principal_of(request)
        context = await list_context(principal, _query(request), request.query_params.get("cursor"), _now(request))
        selected = request.query_params.get("selected", "")
        csrf = signed_in_of(request).csrf_token
        extra = {**context, "selected": selected, "oob": True, "csrf_token": csrf}  # the status tabs' counts come along
        return Template(template_name="inbox_list.html", context=page_context(request, "inbox", **extra))

    @get("/mentions", name="inbox_mentions")
    async def mentions(self, request: Request[Any, Any, Any]) -> Template:
        """The private notes that @mention me, newest first, each linking to its conversation."""
        return await mentions_page.mentions_page(request)

    @get("/settings/sla", name="inbox_sla_settings")
    async def sla_settings(self, request: Request[Any, Any, Any]) -> Template:
        """Business hours and the SLA policy (owners and admins)."""
        return await sla_page.show_settings(request)

    @post("/settings/sla/hours", name="inbox_sla_hours")
    async def sla_hours(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[sla_page.HoursFormData]
    ) -> Redirect | Template:
        """Store the business hours; 400 with the page saying what is wrong."""
        return await sla_page.save_hours(request, data, _now(request))

    @post("/settings/sla/policy", name="inbox_sla_policy")
    async def sla_policy(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[sla_page.PolicyFormData]
    ) -> Redirect | Template:
        """Store the SLA policy; 400 with the page saying what is wrong."""
        return await sla_page.save_policy(request, data, _now(request))

    @get("/settings/csat", name="inbox_csat_settings")
    async def csat_settings_page(self, request: Request[Any, Any, Any]) -> Template:
        """The satisfaction survey: on or off, and its question in English and Chinese (owners and admins)."""
        return await csat_page.show_settings(request)

    @post("/settings/csat", name="inbox_csat_settings_save")
    async def save_csat_settings(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[csat_page.CsatFormData]
    ) -> Redirect | Template:
        """Store the survey settings; 400 with the page keeping what was typed and saying what is wrong."""
        return await csat_page.save_settings(request, data)

    @get("/{conversation_id:str}", name="inbox_conversation")
    async def show(self, request: Request[Any, Any, Any], conversation_id: FromPath[str]) -> Template:
        """One conversation (marked read) beside the list: thread, reply box, notes, actions, contact."""
        return await self._page(request, conversation_id)

    @get("/{conversation_id:str}/thread", name="inbox_thread")
    async def thread(self, request: Request[Any, Any, Any], conversation_id: FromPath[str]) -> Template:
        """The thread alone, for htmx (on an event or the fallback poll); the person is looking at it: it stays read."""
        principal = principal_of(request)
        conversation = await actions.mark_read(principal, parse_conversation_id(conversation_id))
        assert conversation.id is not None
        entries = await thread_entries(principal, conversation.id, request.query_params.get("since"))
        context = page_context(request, "inbox", entries=entries, conversation=conversation)
        context |= thread_context(request, principal) | await csat_context(principal, conversation.id)
        return Template(template_name="inbox_thread.html", context=context)

    @get("/{conversation_id:str}/canned", name="inbox_canned_render")
    async def canned_render(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], name: FromQuery[str] = ""
    ) -> Response[str]:
        """A canned response (`name`: its shortcode) rendered for the conversation, as plain text for the reply box."""
        principal = principal_of(request, Permission.WORK_INBOX)
        found = await canned_replies.by_shortcode(principal, name)
        text = await canned_replies.render(principal, found, parse_conversation_id(conversation_id))
        return Response(text, media_type="text/plain; charset=utf-8")

    @get("/{conversation_id:str}/presence", name="inbox_presence")
    async def presence(self, request: Request[Any, Any, Any], conversation_id: FromPath[str]) -> Template:
        """Who else has the conversation open, for htmx polling; the poll renews my own presence."""
        return await presence_poll(request, conversation_id)

    @post("/{conversation_id:str}/presence", name="inbox_presence_signal", status_code=200)
    async def signal_presence(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[PresenceForm]
    ) -> Template:
        """The reply box reports typing, or the page reports that I left."""
        return await presence_signal(request, conversation_id, data)

    async def _page(
        self,
        request: Request[Any, Any, Any],
        conversation_id: str,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        principal = principal_of(request)
        now = now_of(request.app.state)
        view = await open_conversation(principal, parse_conversation_id(conversation_id), now)
        query = ListQuery.from_params(dict(parse_qsl(extra.pop("filters", "")))) if "filters" in extra else None
        query = query or _query(request)
        context = await list_context(principal, query, None, now)
        context |= conversation_context(request, principal, view, now) | extra
        context |= await meta_reply.meta_context(principal, view, now)
        context["mention_count"] = await mentions_page.mention_count(principal)
        oid = parse_conversation_id(conversation_id)
        context["canned"] = await canned_replies.for_conversation(principal, oid)
        context |= await presence_context(request, principal, oid) | await csat_context(principal, oid)
        return Template(
            template_name="inbox.html", context=page_context(request, "inbox", **context), status_code=status_code
        )

    async def _act(self, request: Request[Any, Any, Any], conversation_id: str, data: InboxForm) -> Any:
        """Check the form's CSRF token and return the principal allowed to work the inbox."""
        return form_principal(request, data, Permission.WORK_INBOX)

    def _back(self, conversation_id: str, data: InboxForm) -> Redirect:
        query = ListQuery.from_params(dict(parse_qsl(data.filters))).query_string()
        return Redirect(path=f"/inbox/{conversation_id}" + (f"?{query}" if query else ""), status_code=303)

    @post("/{conversation_id:str}/reply", name="inbox_reply")
    async def reply(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[InboxForm]
    ) -> Redirect | Template:
        """Queue a reply through the outbox; refused (with the reason) outside the platform's window."""
        principal = await self._act(request, conversation_id, data)
        oid = parse_conversation_id(conversation_id)
        try:
            await replies.reply(principal, oid, data.text, data.idempotency_key, now_of(request.app.state))
        except (InboxInputError, replies.ReplyRefused) as exc:
            refused = isinstance(exc, replies.ReplyRefused)
            return await self._page(
                request,
                conversation_id,
                422,
                filters=data.filters,
                error="inbox.reply.refused" if refused else "inbox.error.input",
                error_detail=_refusal(request, exc) if isinstance(exc, replies.ReplyRefused) else str(exc),
                error_code=exc.code if isinstance(exc, replies.ReplyRefused) else None,
                reply_text=data.text,
                idempotency_key=data.idempotency_key,
            )
        return self._back(conversation_id, data)

    @get("/meta/comments", name="inbox_meta_comments")
    async def meta_comments(self, request: Request[Any, Any, Any]) -> Template:
        """The latest Facebook and Instagram comments, to answer publicly or privately."""
        return await meta_reply.comments_page(request, _now(request))

    @post("/meta/comments/{comment_id:str}/{action:str}", name="inbox_meta_comment_reply")
    async def meta_comment_reply(
        self,
        request: Request[Any, Any, Any],
        comment_id: FromPath[str],
        action: FromPath[str],
        data: URLEncodedBody[meta_reply.MetaForm],
    ) -> Redirect | Template:
        """Reply publicly or privately to a comment from the comments page."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        form = msgspec.structs.replace(data, comment_id=comment_id)
        try:
            await meta_reply.act(request, principal, None, action, form, _now(request))
        except meta_reply.MetaReplyFailed as exc:
            return await meta_reply.comments_page(request, _now(request), 422, exc)
        return Redirect(path="/inbox/meta/comments", status_code=303)

    @get("/{conversation_id:str}/meta/templates", name="inbox_meta_templates")
    async def meta_templates(self, request: Request[Any, Any, Any], conversation_id: FromPath[str]) -> Template:
        """The WhatsApp template picker, loaded into the composer once the 24 hours are over."""
        return await meta_reply.template_picker(request, conversation_id, _now(request))

    @post("/{conversation_id:str}/meta/{action:str}", name="inbox_meta_reply")
    async def meta_action(
        self,
        request: Request[Any, Any, Any],
        conversation_id: FromPath[str],
        action: FromPath[str],
        data: URLEncodedBody[meta_reply.MetaForm],
    ) -> Redirect | Template:
        """A WhatsApp template, a HUMAN_AGENT message, or a public or private reply to the contact's comment."""
        principal = form_principal(request, data, Permission.WORK_INBOX)
        try:
            await meta_reply.act(request, principal, conversation_id, action, data, _now(request))
        except meta_reply.MetaReplyFailed as exc:
            return await self._page(
                request, conversation_id, 422, filters=data.filters, error=exc.key, error_detail=exc.detail
            )
        return meta_reply.back(conversation_id, data.filters)

    @post("/{conversation_id:str}/notes", name="inbox_note")
    async def note(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[InboxForm]
    ) -> Redirect | Template:
        """Write a private note."""
        principal = await self._act(request, conversation_id, data)
        user = signed_in_of(request).user
        try:
            await notes.add_note(
                principal,
                parse_conversation_id(conversation_id),
                data.text,
                now_of(request.app.state),
                user.display_name or user.email,
            )
        except InboxInputError as exc:
            return await self._page(
                request,
                conversation_id,
                422,
                filters=data.filters,
                error="inbox.error.input",
                error_detail=str(exc),
                note_error=True,
            )
        return self._back(conversation_id, data)

    @post("/{conversation_id:str}/labels", name="inbox_label_add")
    async def add_label(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[InboxForm]
    ) -> Redirect | Template:
        """Put a label on the conversation."""
        principal = await self._act(request, conversation_id, data)
        try:
            await actions.add_label(principal, parse_conversation_id(conversation_id), data.label)
        except InboxInputError as exc:
            return await self._page(
                request, conversation_id, 422, filters=data.filters, error="inbox.error.input", error_detail=str(exc)
            )
        return self._back(conversation_id, data)

    @post("/{conversation_id:str}/labels/remove", name="inbox_label_remove")
    async def remove_label(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[InboxForm]
    ) -> Redirect:
        """Take a label off the conversation."""
        principal = await self._act(request, conversation_id, data)
        await actions.remove_label(principal, parse_conversation_id(conversation_id), data.label)
        return self._back(conversation_id, data)

    @post("/{conversation_id:str}/messages/{message_id:str}/tags", name="inbox_correct_tags")
    async def correct_tags(
        self,
        request: Request[Any, Any, Any],
        conversation_id: FromPath[str],
        message_id: FromPath[str],
        data: URLEncodedBody[InboxForm],
    ) -> Redirect:
        """Correct a message's sentiment and/or intent: filters use it at once, the next training run learns it."""
        principal = await self._act(request, conversation_id, data)
        if data.sentiment and data.sentiment not in SENTIMENTS:
            raise InboxInputError(f"Unknown sentiment {data.sentiment!r}; use one of {', '.join(SENTIMENTS)}")
        if data.intent and data.intent not in INTENTS:
            raise InboxInputError(f"Unknown intent {data.intent!r}; use one of {', '.join(INTENTS)}")
        chosen = {"sentiment": data.sentiment, "intent": data.intent}
        shown = {"sentiment": data.shown_sentiment, "intent": data.shown_intent}
        labels = {task: label for task, label in chosen.items() if label != shown[task]}
        await correct_in_conversation(
            principal, parse_conversation_id(conversation_id), message_id, labels, now_of(request.app.state)
        )
        return self._back(conversation_id, data)

    @post("/{conversation_id:str}/assign", name="inbox_assign")
    async def assign(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[InboxForm]
    ) -> Redirect:
        """Assign the conversation to me, to another member, or to nobody."""
        principal = await self._act(request, conversation_id, data)
        target = user_id_of(principal) if data.assignee == "me" else actions.parse_user_id(data.assignee)
        await actions.assign(principal, parse_conversation_id(conversation_id), target)
        return self._back(conversation_id, data)

    @post("/{conversation_id:str}/status", name="inbox_status")
    async def status(
        self, request: Request[Any, Any, Any], conversation_id: FromPath[str], data: URLEncodedBody[InboxForm]
    ) -> Redirect:
        """Resolve, reopen, set pending, or snooze for a chosen while."""
        principal = await self._act(request, conversation_id, data)
        now = now_of(request.app.state)
        if data.status not in {s.value for s in ConversationStatus}:
            raise InboxInputError(f"Unknown status {data.status!r}")
        status = ConversationStatus(data.status)
        until = now + SNOOZE_CHOICES.get(data.snooze, SNOOZE_CHOICES["1d"]) if status.value == "snoozed" else None
        await actions.set_status(principal, parse_conversation_id(conversation_id), status, now, until)
        return self._back(conversation_id, data)

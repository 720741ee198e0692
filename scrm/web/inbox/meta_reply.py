"""The inbox's Meta replies: a WhatsApp template once the 24 hours are over, a Messenger/Instagram message with
the `HUMAN_AGENT` tag up to 7 days, and public or private replies to the contact's comments.

The conversation page shows them under the reply box (`inbox_meta_reply.html`); the template picker is loaded
into it by htmx only when needed (it asks Meta, through the briefly cached catalog). Every action is a form
post answered with a redirect, like the other inbox forms, and goes through the same services as the API.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from beanie import PydanticObjectId
from litestar import Request
from litestar.response import Redirect, Template

from scrm.auth.roles import Permission, Principal
from scrm.connectors.base import Reply
from scrm.inbox import comment_replies, replies
from scrm.inbox.actions import get_conversation, parse_conversation_id
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.templates import TemplatesUnavailable, TemplateView, catalog_of
from scrm.inbox.view import ConversationView
from scrm.models import Comment, Contact, Conversation, OutboundMessage
from scrm.web.inbox.filters import ListQuery
from scrm.web.inbox.pages import principal_of, signed_in_of
from scrm.web.pages import page_context

RECENT_COMMENTS = 5
COMMENTS_PAGE = 50
HUMAN_AGENT = "HUMAN_AGENT"
ACTIONS = frozenset({"template", "human_agent", "comment", "private_reply"})


class MetaForm(msgspec.Struct):
    """What the Meta reply forms send."""

    csrf_token: str = ""
    filters: str = ""
    idempotency_key: str = ""
    text: str = ""
    template: str = ""
    """``name|language`` of the chosen template."""
    parameters: str = ""
    """The template's parameters, one per line, in order."""
    comment_id: str = ""


class MetaReplyFailed(Exception):
    """An action the page reports: the catalog key of what happened and the detail."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CommentRow:
    """One of the contact's comments, and whether it may still get its private reply."""

    comment: Comment
    can_reply_privately: bool
    replied_privately: bool
    author: str = ""
    """The contact's name ("" when unknown)."""
    our_replies: list[Comment] = field(default_factory=list)
    """Our public replies under it, oldest first."""


@dataclass(frozen=True, slots=True)
class MetaReplyView:
    """What the Meta part of the composer shows."""

    space: str
    """``facebook``, ``instagram`` or ``whatsapp``: the product of the conversation."""
    whatsapp_closed: bool
    """The 24 hours are over: only a template may go out (the picker is offered)."""
    human_agent_open: bool
    """The standard 24 hours are over but the 7-day human-agent window is not."""
    comments: list[CommentRow]


async def meta_context(principal: Principal, view: ConversationView, now: datetime) -> dict[str, Any]:
    """The page's `meta` entry: None unless the conversation is on a Meta channel."""
    conversation = view.conversation
    if conversation.platform != "meta":
        return {"meta": None}
    space = conversation.external_id.partition(":")[0]
    human_agent = False
    if space in {"facebook", "instagram"} and not view.window.is_open:
        probe = Reply(to=conversation.external_id, text="", tag=HUMAN_AGENT)
        human_agent = replies.window_state(conversation, now, probe).is_open
    return {
        "meta": MetaReplyView(
            space=space,
            whatsapp_closed=space == "whatsapp" and not view.window.is_open,
            human_agent_open=human_agent,
            comments=await _comments(principal, conversation, now),
        )
    }


async def _comments(principal: Principal, conversation: Conversation, now: datetime) -> list[CommentRow]:
    """The contact's latest comments on the conversation's channel, with their private-reply state."""
    wanted = {"channel_id": conversation.channel_id, "contact_id": conversation.contact_id, "from_us": False}
    return await comment_rows(principal, wanted, RECENT_COMMENTS, now)


async def comment_rows(principal: Principal, wanted: dict[str, Any], limit: int, now: datetime) -> list[CommentRow]:
    """The latest comments matching ``wanted`` within reach, with our replies and their private-reply state."""
    found = (
        await principal.scope.find(Comment, comment_replies.comment_reach(principal), wanted)
        .sort("-created_time")
        .limit(limit)
        .to_list()
    )
    keys = [f"private_reply:{c.id}" for c in found]
    done = {
        row["dedupe_key"]
        async for row in OutboundMessage.get_pymongo_collection().find(
            {"workspace_id": principal.workspace_id, "dedupe_key": {"$in": keys}}, {"dedupe_key": 1}
        )
    }
    answers: dict[str, list[Comment]] = {}
    parents = [c.external_id for c in found]
    ours = principal.scope.find(Comment, {"from_us": True, "parent_external_id": {"$in": parents}})
    for reply in await ours.sort("+created_time").to_list():
        answers.setdefault(reply.parent_external_id or "", []).append(reply)
    names = await _names(principal, [c.contact_id for c in found if c.contact_id is not None])
    window = comment_replies.PRIVATE_REPLY_WINDOW
    return [
        CommentRow(
            comment=c,
            can_reply_privately=f"private_reply:{c.id}" not in done and now - c.created_time <= window,
            replied_privately=f"private_reply:{c.id}" in done,
            author=names.get(c.contact_id, "") if c.contact_id else "",
            our_replies=answers.get(c.external_id, []),
        )
        for c in found
    ]


async def _names(principal: Principal, contact_ids: list[PydanticObjectId]) -> dict[PydanticObjectId, str]:
    found = await principal.scope.find(Contact, {"_id": {"$in": list(set(contact_ids))}}).to_list()
    return {c.id: c.name for c in found if c.id is not None}


async def comments_page(
    request: Request[Any, Any, Any], now: datetime, status_code: int = 200, failed: MetaReplyFailed | None = None
) -> Template:
    """The latest comments on the workspace's Meta channels, each with "reply publicly" / "reply privately"."""
    principal = principal_of(request)
    rows = await comment_rows(principal, {"platform": "meta", "from_us": False}, COMMENTS_PAGE, now)
    context = page_context(
        request,
        "inbox",
        comments=rows,
        can_work=principal.can(Permission.WORK_INBOX),
        csrf_token=signed_in_of(request).csrf_token,
        idempotency_key=secrets.token_urlsafe(18),
        error=failed.key if failed else None,
        error_detail=failed.detail if failed else None,
    )
    return Template(template_name="inbox_meta_comments.html", context=context, status_code=status_code)


async def template_picker(request: Request[Any, Any, Any], conversation_id: str, now: datetime) -> Template:
    """The template picker fragment: the channel's approved templates, or why they cannot be listed."""
    principal = principal_of(request)
    conversation = await get_conversation(principal, parse_conversation_id(conversation_id))
    templates: list[TemplateView] = []
    problem = ""
    try:
        found = await catalog_of(request.app.state).templates(
            principal, str(conversation.channel_id), request.app.state.http, now
        )
        templates = [t for t in found if t.approved]
    except TemplatesUnavailable as exc:
        problem = str(exc)
    context = page_context(
        request,
        "inbox",
        meta_fragment="templates",
        templates=templates,
        problem=problem,
        conversation=conversation,
        qs=request.query_params.get("filters", ""),
        idempotency_key=secrets.token_urlsafe(18),
        csrf_token=signed_in_of(request).csrf_token,
    )
    return Template(template_name="inbox_meta_reply.html", context=context)


async def act(
    request: Request[Any, Any, Any],
    principal: Principal,
    conversation_id: str | None,
    action: str,
    data: MetaForm,
    now: datetime,
) -> None:
    """Queue what the form asks; raises MetaReplyFailed with what to tell the person.

    ``conversation_id`` is None for a comment answered from the comments page.
    """
    try:
        if action == "template" and conversation_id is not None:
            oid = parse_conversation_id(conversation_id)
            conversation = await get_conversation(principal, oid)
            name, _, language = data.template.partition("|")
            parameters = tuple(line.strip() for line in data.parameters.splitlines() if line.strip())
            template, text = await catalog_of(request.app.state).prepare(
                principal, conversation, name, language, parameters, request.app.state.http, now
            )
            await replies.reply(principal, oid, text, data.idempotency_key, now, template=template)
        elif action == "human_agent" and conversation_id is not None:
            oid = parse_conversation_id(conversation_id)
            await replies.reply(principal, oid, data.text, data.idempotency_key, now, tag=HUMAN_AGENT)
        elif action in {"comment", "private_reply"}:
            comment_id = comment_replies.parse_comment_id(data.comment_id)
            await comment_replies.reply_to_comment(
                principal, comment_id, data.text, data.idempotency_key, now, private=action == "private_reply"
            )
        else:
            raise InboxInputError(f"Unknown reply action {action!r}")
    except InboxInputError as exc:
        raise MetaReplyFailed("inbox.error.input", str(exc)) from exc
    except (replies.ReplyRefused, TemplatesUnavailable) as exc:
        raise MetaReplyFailed("meta.reply.refused", str(exc)) from exc
    except comment_replies.AlreadyReplied as exc:
        raise MetaReplyFailed("meta.reply.refused", str(exc)) from exc


def back(conversation_id: str, filters: str) -> Redirect:
    """Back to the conversation, with the list's filters."""
    query = ListQuery.from_params(dict(parse_qsl(filters))).query_string()
    return Redirect(path=f"/inbox/{conversation_id}" + (f"?{query}" if query else ""), status_code=303)

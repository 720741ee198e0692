"""`/api/v1/conversations`: the inbox — list and filter, read, work and answer conversations.

Everything the web inbox does is here too, under the same rules: an agent reaches only the conversations of
their channels and teams, a viewer reads but never changes anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from beanie import PydanticObjectId
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ExceptionHandlersMap

from scrm.api.comments import template_catalog
from scrm.api.messages import IntentFilter, MessagePage, SentimentFilter, message_page
from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, parse_id
from scrm.api.security import Caller, Now, requires
from scrm.api.sla import SlaOut, sla_out
from scrm.auth.roles import Permission, Principal
from scrm.inbox import actions, bulk, replies, teams, templates
from scrm.inbox.conversations import COUNT_CAP, InboxFilter, InboxInputError, list_conversations
from scrm.inbox.search import MAX_QUERY_LENGTH, SearchMatch
from scrm.models import Conversation, ConversationStatus
from scrm.problems import problem_response
from scrm.web import i18n
from scrm.web.inbox.window_text import refusal_detail

StatusName = Literal["open", "pending", "snoozed", "resolved"]
SlaFilter = Literal["breached", "at_risk"]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=actions.MAX_LABEL_LENGTH)]

LanguageChoice = Annotated[
    Literal["en", "zh", "other"] | None,
    QueryParameter(description="Only those whose latest tagged inbound message is in this language."),
]


class ConversationOut(msgspec.Struct):
    """One conversation as the API shows it."""

    id: str
    channel_id: str
    contact_id: str
    platform: str
    status: str
    assignee_id: str | None
    team_id: str | None
    labels: list[str]
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_message_preview: str
    unread_count: int
    snoozed_until: datetime | None
    sla: SlaOut | None = None
    """The current SLA cycle read now (null when no policy timed the conversation)."""
    waiting_since: datetime | None = None
    """Since when the contact has been waiting for an answer (null: answered, or nothing unanswered)."""
    match: MatchOut | None = None
    """With `q`: what matched, the contact or a message (null without `q`)."""


class MatchOut(msgspec.Struct):
    """Why a conversation is in a search's results: its contact, or its newest message holding every term."""

    kind: Literal["contact", "message"]
    message_id: str | None
    """The matching message (null for a contact match)."""
    snippet: str
    """Plain text: the message cut around its first match, or the contact's matching name, handle, email or phone."""
    highlights: list[list[int]]
    """The matched terms in `snippet`: `[start, end)` offsets in Unicode code points, in order."""


class ConversationPage(msgspec.Struct):
    """A page of conversations, latest activity first, the next page's cursor, and counts per status (capped)."""

    items: list[ConversationOut]
    next_cursor: str | None
    counts: dict[str, int]
    counts_capped_at: int = COUNT_CAP
    """A count equal to this means "at least this many"."""


class ConversationPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a conversation; fields left out keep their value. `snoozed_until` goes with `snoozed`."""

    status: StatusName | msgspec.UnsetType = msgspec.UNSET
    snoozed_until: datetime | None = None
    assignee_id: str | msgspec.UnsetType | None = msgspec.UNSET
    team_id: str | msgspec.UnsetType | None = msgspec.UNSET
    """Put it in a team's queue (null: no team); applied after the other changes."""
    labels: Annotated[list[Label], msgspec.Meta(max_length=actions.MAX_LABELS)] | msgspec.UnsetType = msgspec.UNSET


class TemplateIn(msgspec.Struct, forbid_unknown_fields=True):
    """A WhatsApp template by name and language (see `GET /channels/{id}/templates`), its body parameters in order."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    language: Annotated[str, msgspec.Meta(min_length=2, max_length=20)]
    parameters: Annotated[list[str], msgspec.Meta(max_length=templates.MAX_PARAMETERS)] = msgspec.field(
        default_factory=list
    )


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A reply to send; the same `idempotency_key` again (a retry) sends it once."""

    text: Annotated[str, msgspec.Meta(max_length=replies.MAX_REPLY_LENGTH)]
    """The message; with a `template`, may be empty (the filled-in template body is shown instead)."""
    idempotency_key: Annotated[str, msgspec.Meta(pattern=replies.IDEMPOTENCY_KEY.pattern)]
    tag: Literal["HUMAN_AGENT"] | None = None
    """Messenger/Instagram: a person answering after 24 hours, up to 7 days after the contact's last message."""
    template: TemplateIn | None = None
    """WhatsApp: a pre-approved template, the only message allowed after the 24-hour window."""


class ReplyOut(msgspec.Struct):
    """A queued reply: the outbox row that delivery sends."""

    id: str
    conversation_id: str
    text: str
    status: str
    created_at: datetime


class BulkIn(msgspec.Struct, forbid_unknown_fields=True):
    """One change for many conversations: a status (not snoozed), an assignee (null: nobody), a label and/or a team."""

    ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=bulk.MAX_SELECTION)]
    status: Literal["open", "pending", "resolved"] | None = None
    assignee_id: str | msgspec.UnsetType | None = msgspec.UNSET
    add_label: Label | None = None
    team_id: str | msgspec.UnsetType | None = msgspec.UNSET
    """Move them to this team's queue (null: to no team); assignees stay."""


class BulkOut(msgspec.Struct):
    """How many of the selected conversations were changed (ids out of reach are left out)."""

    matched: int


def match_out(match: SearchMatch | None) -> MatchOut | None:
    """The API view of a search match."""
    if match is None:
        return None
    kind: Literal["contact", "message"] = "contact" if match.kind == "contact" else "message"
    message_id = str(match.message_id) if match.message_id else None
    return MatchOut(kind, message_id, match.snippet, [[start, end] for start, end in match.highlights])


def conversation_out(conversation: Conversation, now: datetime | None = None) -> ConversationOut:
    """The API view of a conversation (its SLA read at `now`, by default the current time)."""
    return ConversationOut(
        id=str(conversation.id),
        channel_id=str(conversation.channel_id),
        contact_id=str(conversation.contact_id),
        platform=conversation.platform,
        status=conversation.status.value,
        assignee_id=str(conversation.assignee_id) if conversation.assignee_id else None,
        team_id=str(conversation.team_id) if conversation.team_id else None,
        labels=conversation.labels,
        last_message_at=conversation.last_message_at,
        last_inbound_at=conversation.last_inbound_at,
        last_message_preview=conversation.last_message_preview,
        unread_count=conversation.unread_count,
        snoozed_until=conversation.snoozed_until,
        sla=sla_out(conversation.sla, now),
        waiting_since=conversation.waiting_since,
    )


async def change_conversation(
    principal: Principal, conversation_id: str, data: ConversationPatch, now: datetime
) -> ConversationOut:
    """Apply the changes of a PATCH in a fixed order: labels, assignee, status, team."""
    oid = actions.parse_conversation_id(conversation_id)
    conversation = await actions.get_conversation(principal, oid)
    if not isinstance(data.labels, msgspec.UnsetType):
        conversation = await actions.set_labels(principal, oid, data.labels)
    if not isinstance(data.assignee_id, msgspec.UnsetType):
        conversation = await actions.assign(principal, oid, actions.parse_user_id(data.assignee_id))
    if not isinstance(data.status, msgspec.UnsetType):
        status = ConversationStatus(data.status)
        conversation = await actions.set_status(principal, oid, status, now, data.snoozed_until)
    if not isinstance(data.team_id, msgspec.UnsetType):
        conversation = await teams.route_to_team(principal, oid, teams.parse_team_ref(data.team_id))
    return conversation_out(conversation, now)


async def change_many(principal: Principal, data: BulkIn, now: datetime | None = None) -> BulkOut:
    """Apply a bulk change to the conversations of `data.ids` the principal may see."""
    assignee = None if isinstance(data.assignee_id, msgspec.UnsetType) else actions.parse_user_id(data.assignee_id)
    change = bulk.BulkChange(
        status=ConversationStatus(data.status) if data.status else None,
        assignee_id=assignee,
        unassign=data.assignee_id is None,
        add_label=data.add_label,
        team_id=None if isinstance(data.team_id, msgspec.UnsetType) else teams.parse_team_ref(data.team_id),
        no_team=not isinstance(data.team_id, msgspec.UnsetType) and not data.team_id,
    )
    ids = [actions.parse_conversation_id(i) for i in data.ids if PydanticObjectId.is_valid(i)]
    return BulkOut(await bulk.apply_to_many(principal, ids, change, now))


def _bad_input(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(400, str(exc))


def _refused(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if not isinstance(exc, replies.ReplyRefused):
        return problem_response(422, str(exc))
    detail = refusal_detail(i18n.negotiate(None, request.headers.get("accept-language")), exc)
    return problem_response(422, detail, {"code": exc.code})


INBOX_ERRORS: ExceptionHandlersMap = {
    InboxInputError: _bad_input,
    replies.ReplyRefused: _refused,
    templates.TemplatesUnavailable: _refused,
}
READ = [requires(Permission.READ_CONTACTS)]
WORK = [requires(Permission.WORK_INBOX)]
SearchQuery = QueryParameter(
    min_length=1,
    max_length=MAX_QUERY_LENGTH,
    description=(
        "Only those whose contact or a message (ours or the contact's) contains every word of `q`: whole words, "
        "any case; Chinese by its characters (`还没到` finds 快递一个星期了还没到); punctuation and emoji are ignored "
        "(a `q` of nothing else matches nothing). The contact is matched by name, display names and handles "
        "(`王芳`, `@jenny_w`), a whole email, or a phone number's digits (with or without the country code). "
        "Contact matches come first (latest activity first), then message matches; each item's `match` says "
        "which, with a snippet. The 1,000 conversations with the most recent matches at most."
    ),
)
SORT_HELP = (
    "`recent` (default): latest activity first. `waiting`: longest waiting for an answer first (`waiting_since`: "
    "the contact wrote and no agent has replied since), then the others by latest activity. A cursor belongs to "
    "its sort."
)
AssigneeFilter = Annotated[
    str, QueryParameter(description="`anyone` (default), `me` (a signed-in user), `unassigned`, or a user id.")
]


class ConversationsController(Controller):
    """Conversations, one per contact and thread on a channel: the inbox."""

    path = "/conversations"
    tags = ("conversations",)
    exception_handlers = INBOX_ERRORS

    @get(
        "/",
        guards=READ,
        summary="List conversations, latest activity first, with counts per status",
        description=(
            "Every filter narrows the list; `sentiment`, `intent` and `language` match the latest tagged inbound "
            "message. "
            "`counts` ignore `status` and stop at `counts_capped_at`."
        ),
    )
    async def list(
        self,
        principal: Caller,
        now: Now,
        channel_id: Annotated[str | None, QueryParameter(description="Only this channel's.")] = None,
        team_id: Annotated[str | None, QueryParameter(description="Only this team's queue.")] = None,
        status: Annotated[StatusName | None, QueryParameter(description="Only this status.")] = None,
        assignee: AssigneeFilter = "anyone",
        label: Annotated[str | None, QueryParameter(description="Only those with this label.")] = None,
        sentiment: SentimentFilter = None,
        intent: IntentFilter = None,
        language: LanguageChoice = None,
        unread: Annotated[bool, QueryParameter(description="Only those with unread messages.")] = False,
        blocked: Annotated[bool, QueryParameter(description="Only blocked contacts' (left out otherwise).")] = False,
        sla: Annotated[SlaFilter | None, QueryParameter(description="Only SLA breached or at risk.")] = None,
        q: Annotated[str | None, SearchQuery] = None,
        sort: Annotated[Literal["recent", "waiting"], QueryParameter(description=SORT_HELP)] = "recent",
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> ConversationPage:
        """Conversations the caller may see; sentiment and intent match the latest tagged inbound message."""
        wanted = InboxFilter(
            channel_id=parse_id(channel_id, "channel") if channel_id else None,
            team_id=parse_id(team_id, "team") if team_id else None,
            status=ConversationStatus(status) if status else None,
            assignee=assignee,
            label=label,
            sentiment=sentiment,
            intent=intent,
            language=language,
            unread=unread,
            blocked=blocked,
            sla=sla,
            now=now,
            q=q,
            sort=sort,
        )
        found = await list_conversations(principal, wanted, cursor, limit)
        items = [conversation_out(r.conversation, now) for r in found.rows]
        for item, row in zip(items, found.rows, strict=True):
            item.match = match_out(row.match)
        return ConversationPage(items, found.next_cursor, found.counts)

    @post(
        "/bulk",
        guards=WORK,
        summary="Change many conversations at once",
        description="Ids the caller may not see are left out; `matched` says how many were changed.",
        status_code=200,
    )
    async def bulk_change(self, principal: Caller, data: JSONBody[BulkIn], now: Now) -> BulkOut:
        """Resolve, reopen or set pending, assign or unassign, label or move to a team up to 200 conversations."""
        return await change_many(principal, data, now)

    @get("/{conversation_id:str}", guards=READ, summary="Get a conversation")
    async def show(self, principal: Caller, conversation_id: FromPath[str], now: Now) -> ConversationOut:
        """One conversation the caller may see; 404 otherwise (also for another workspace's)."""
        oid = actions.parse_conversation_id(conversation_id)
        return conversation_out(await actions.get_conversation(principal, oid), now)

    @patch("/{conversation_id:str}", guards=WORK, summary="Change a conversation's status, assignee, team or labels")
    async def update(
        self, principal: Caller, conversation_id: FromPath[str], data: JSONBody[ConversationPatch], now: Now
    ) -> ConversationOut:
        """Resolve, reopen, set pending or snooze (with `snoozed_until`); assign (null: nobody); set labels."""
        return await change_conversation(principal, conversation_id, data, now)

    @get("/{conversation_id:str}/messages", guards=READ, summary="List a conversation's messages, newest first")
    async def messages(
        self, principal: Caller, conversation_id: FromPath[str], cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> MessagePage:
        """The messages of one conversation the caller may see."""
        oid = actions.parse_conversation_id(conversation_id)
        await actions.get_conversation(principal, oid)
        return await message_page(principal, {"conversation_id": oid}, cursor, limit)

    @post(
        "/{conversation_id:str}/replies",
        guards=WORK,
        summary="Reply to the contact (through the outbox)",
        description=(
            "Queues one outbound message; the same `idempotency_key` again returns the first reply instead of "
            "queuing another. 422 with the reason outside the platform's messaging window (WeChat 48 h, "
            "Messenger/Instagram/WhatsApp 24 h after the contact's last message), with a stable `code` "
            "(`messaging_window_expired`, `messaging_window_never_opened`, or `messaging_window_message_limit` when "
            "WeChat's or WeCom's 5 messages per window were already sent or queued); `Accept-Language: zh-CN` gets the "
            "detail in Chinese."
        ),
    )
    async def reply(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        conversation_id: FromPath[str],
        data: JSONBody[ReplyIn],
        now: Now,
    ) -> ReplyOut:
        """Queue a reply; the same idempotency key again returns the first reply. 422 outside the platform's window."""
        oid = actions.parse_conversation_id(conversation_id)
        text, template = data.text, None
        if data.template is not None:  # WhatsApp: checked against the channel's templates, shown filled in
            conversation = await actions.get_conversation(principal, oid)
            wanted = data.template
            template, text = await template_catalog(request).prepare(principal, conversation, wanted.name,
                wanted.language, tuple(wanted.parameters), request.app.state.http, now)  # fmt: skip
        row = await replies.reply(principal, oid, text, data.idempotency_key, now, tag=data.tag or "",
                                  template=template)  # fmt: skip
        text = str(row.payload.get("text", ""))
        return ReplyOut(str(row.id), str(row.conversation_id), text, row.status.value, row.created_at)

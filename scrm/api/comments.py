"""`/api/v1/posts`, `/api/v1/comments` and `/api/v1/channels/{id}/templates`: public content and its replies.

Posts and comments come in by webhook or pull; a comment is answered publicly (`/reply`) or, on Facebook and
Instagram, privately (`/private-reply`: its author gets one message). WhatsApp templates are listed from Meta
(cached briefly) to pick one when a conversation's 24-hour window is closed; sending one goes through the
conversation's `/replies` with a `template`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ExceptionHandlersMap

from scrm.api.messages import IntentFilter, LanguageFilter, SentimentFilter, tag_filters
from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, before, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission
from scrm.inbox import comment_replies, replies
from scrm.inbox.comment_replies import AlreadyReplied, comment_reach, parse_comment_id
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.templates import TemplateCatalog, TemplatesUnavailable, TemplateView, catalog_of
from scrm.models import Comment, OutboundMessage, Post
from scrm.problems import problem_with

READ = [requires(Permission.READ_CONTACTS)]
WORK = [requires(Permission.WORK_INBOX)]


class PostOut(msgspec.Struct):
    """A post on a Page or account, as the API shows it."""

    id: str
    channel_id: str
    platform: str
    external_id: str
    text: str
    url: str
    published_at: datetime
    tags: dict[str, Any] | None
    """Language, sentiment, intent and entities, with the model version; null until tagged or for a blank text."""


class PostPage(msgspec.Struct):
    """A page of posts, newest first, and the cursor of the next page (null on the last)."""

    items: list[PostOut]
    next_cursor: str | None


class CommentOut(msgspec.Struct):
    """A comment as the API shows it; `from_us` marks our own."""

    id: str
    channel_id: str
    platform: str
    external_id: str
    post_external_id: str
    post_id: str | None
    parent_external_id: str | None
    contact_id: str | None
    from_us: bool
    text: str
    created_time: datetime
    hidden: bool
    tags: dict[str, Any] | None
    """Language, sentiment, intent and entities, with the model version; null until tagged or for a blank text."""


class CommentPage(msgspec.Struct):
    """A page of comments, newest first, and the cursor of the next page (null on the last)."""

    items: list[CommentOut]
    next_cursor: str | None


class CommentReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A reply to a comment; the same `idempotency_key` again (a retry) sends it once."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=replies.MAX_REPLY_LENGTH)]
    idempotency_key: Annotated[str, msgspec.Meta(pattern=replies.IDEMPOTENCY_KEY.pattern)]


class CommentReplyOut(msgspec.Struct):
    """A queued comment reply: the outbox row delivery sends; `external_id` is set once the platform took it."""

    id: str
    comment_id: str
    kind: str
    text: str
    status: str
    created_at: datetime
    external_id: str | None
    error: str


class TemplateOut(msgspec.Struct):
    """A WhatsApp message template: only an `APPROVED` one can be sent; `parameters` is how many it takes."""

    name: str
    language: str
    status: str
    category: str
    body: str
    parameters: int


class TemplateList(msgspec.Struct):
    """The channel's templates as Meta lists them."""

    items: list[TemplateOut]


def post_out(found: Post) -> PostOut:
    """The API view of a post."""
    return PostOut(
        str(found.id),
        str(found.channel_id),
        found.platform,
        found.external_id,
        found.text,
        found.url,
        found.published_at,
        found.tags,
    )


def comment_out(found: Comment) -> CommentOut:
    """The API view of a comment."""
    return CommentOut(
        id=str(found.id),
        channel_id=str(found.channel_id),
        platform=found.platform,
        external_id=found.external_id,
        post_external_id=found.post_external_id,
        post_id=str(found.post_id) if found.post_id else None,
        parent_external_id=found.parent_external_id,
        contact_id=str(found.contact_id) if found.contact_id else None,
        from_us=found.from_us,
        text=found.text,
        created_time=found.created_time,
        hidden=found.hidden,
        tags=found.tags,
    )


def comment_reply_out(row: OutboundMessage) -> CommentReplyOut:
    """The API view of a queued comment reply."""
    payload = row.payload
    return CommentReplyOut(
        str(row.id),
        str(payload.get("comment_id", "")),
        str(payload.get("kind", "")),
        str(payload.get("text", "")),
        row.status.value,
        row.created_at,
        row.external_id,
        row.error,
    )


def template_out(found: TemplateView) -> TemplateOut:
    """The API view of a template."""
    return TemplateOut(found.name, found.language, found.status, found.category, found.body, found.parameters)


def template_catalog(request: Request[Any, Any, Any]) -> TemplateCatalog:
    """The app's template catalog (one cache per process)."""
    return catalog_of(request.app.state)


ERRORS: ExceptionHandlersMap = {
    InboxInputError: problem_with(400),
    replies.ReplyRefused: problem_with(422),
    AlreadyReplied: problem_with(409),
    TemplatesUnavailable: problem_with(422),
}
ChannelFilter = Annotated[str | None, QueryParameter(description="Only this channel's.")]


class PostsController(Controller):
    """Posts on the workspace's Pages and accounts."""

    path = "/posts"
    tags = ("posts",)

    @get("/", guards=READ, summary="List posts, newest first")
    async def list(
        self,
        principal: Caller,
        channel_id: ChannelFilter = None,
        sentiment: SentimentFilter = None,
        intent: IntentFilter = None,
        language: LanguageFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> PostPage:
        """Posts of the workspace (an agent: of their channels), filterable by channel and tags."""
        filters = tag_filters(sentiment, intent, language)
        if channel_id:
            filters["channel_id"] = parse_id(channel_id, "channel")
        query = principal.scope.find(Post, comment_reach(principal), filters, before(parse_cursor(cursor)))
        found = await query.sort("-_id").limit(limit + 1).to_list()
        return PostPage([post_out(p) for p in found[:limit]], next_cursor([p.id for p in found], limit))

    @get("/{post_id:str}", guards=READ, summary="Get a post")
    async def show(self, principal: Caller, post_id: FromPath[str]) -> PostOut:
        """One post the caller may see; 404 otherwise."""
        return post_out(await principal.scope.get(Post, parse_id(post_id, "post"), comment_reach(principal)))


class CommentsController(Controller):
    """Comments under posts, and answering them publicly or privately."""

    path = "/comments"
    tags = ("comments",)
    exception_handlers = ERRORS

    @get("/", guards=READ, summary="List comments, newest first")
    async def list(
        self,
        principal: Caller,
        channel_id: ChannelFilter = None,
        post_id: Annotated[str | None, QueryParameter(description="Only the comments under this post.")] = None,
        sentiment: SentimentFilter = None,
        intent: IntentFilter = None,
        language: LanguageFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> CommentPage:
        """Comments of the workspace (an agent: of their channels), by channel, post and tags."""
        filters = tag_filters(sentiment, intent, language)
        if channel_id:
            filters["channel_id"] = parse_id(channel_id, "channel")
        if post_id:
            filters["post_id"] = parse_id(post_id, "post")
        query = principal.scope.find(Comment, comment_reach(principal), filters, before(parse_cursor(cursor)))
        found = await query.sort("-_id").limit(limit + 1).to_list()
        return CommentPage([comment_out(c) for c in found[:limit]], next_cursor([c.id for c in found], limit))

    @get("/{comment_id:str}", guards=READ, summary="Get a comment")
    async def show(self, principal: Caller, comment_id: FromPath[str]) -> CommentOut:
        """One comment the caller may see; 404 otherwise."""
        return comment_out(await comment_replies.get_comment(principal, parse_id(comment_id, "comment")))

    @post(
        "/{comment_id:str}/reply",
        guards=WORK,
        summary="Reply publicly under a comment (through the outbox)",
        description="Queues one public reply; the same `idempotency_key` again returns the first one.",
    )
    async def reply(
        self, principal: Caller, comment_id: FromPath[str], data: JSONBody[CommentReplyIn], now: Now
    ) -> CommentReplyOut:
        """Queue a public reply; 422 when the platform cannot take one."""
        oid = parse_comment_id(comment_id)
        row = await comment_replies.reply_to_comment(
            principal, oid, data.text, data.idempotency_key, now, private=False
        )
        return comment_reply_out(row)

    @post(
        "/{comment_id:str}/private-reply",
        guards=WORK,
        summary="Answer a comment with a private message to its author (Facebook, Instagram)",
        description=(
            "One private reply per comment, within 7 days of it (Meta's rule): the same `idempotency_key` again "
            "returns it, another key gets 409. 422 after 7 days, for our own comment or an unknown author."
        ),
    )
    async def private_reply(
        self, principal: Caller, comment_id: FromPath[str], data: JSONBody[CommentReplyIn], now: Now
    ) -> CommentReplyOut:
        """Queue the comment's one private reply."""
        oid = parse_comment_id(comment_id)
        row = await comment_replies.reply_to_comment(principal, oid, data.text, data.idempotency_key, now, private=True)
        return comment_reply_out(row)


class ChannelTemplatesController(Controller):
    """The WhatsApp message templates of a channel, listed from Meta."""

    path = "/channels/{channel_id:str}/templates"
    tags = ("channels",)
    exception_handlers = ERRORS

    @get(
        "/",
        guards=READ,
        summary="List the channel's WhatsApp message templates",
        description="From Meta (`GET /{waba-id}/message_templates`), reused for a minute. 422 for a channel "
        "that has no WhatsApp Business Account or when Meta refuses.",
    )
    async def list(
        self, request: Request[Any, Any, Any], principal: Caller, channel_id: FromPath[str], now: Now
    ) -> TemplateList:
        """Templates with their review status, body and number of parameters."""
        found = await template_catalog(request).templates(principal, channel_id, request.app.state.http, now)
        return TemplateList([template_out(t) for t in found])

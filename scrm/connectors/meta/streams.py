"""Meta pull streams: Page posts and comments, Page and Instagram conversations, Instagram media and comments.

Graph paging (meta.md d, graph-api/results): cursor-based, ``paging.cursors.after`` and ``paging.next`` (the
full URL of the next page); "stop when next is absent" — fewer records than ``limit`` does not mean the end.
The streams follow ``paging.next``. Time-based ``since`` takes epoch seconds, so a stored cursor (the Graph
ISO time of the newest item) is converted. Nested lists (a post's comments, a conversation's messages) come
with their own ``paging`` and are followed the same way until their items are older than the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from scrm.connectors.http import RestStream
from scrm.connectors.items import InboundComment, InboundMessage, InboundPost
from scrm.connectors.meta.feed import instagram_comment, media_from_graph, page_comment_from_graph, post_from_graph
from scrm.connectors.meta.ids import Space
from scrm.connectors.meta.messaging import message_from_graph
from scrm.connectors.meta.timestamps import to_seconds
from scrm.connectors.paginators import NextUrl, PageRequest
from scrm.connectors.stores import CursorValue

T = TypeVar("T")
PAGE_SIZE = 100  # our choice; Graph edges cap ``limit`` at their own maximum
# New comments land on old posts; comments on posts older than this before the cursor come by webhook only.
COMMENT_LOOKBACK = timedelta(days=30)
COMMENT_FIELDS = "id,message,created_time,from,parent{id}"
IG_COMMENT_FIELDS = "id,text,timestamp,username,from,parent_id"
MESSAGE_FIELDS = "id,created_time,from,to,message,attachments"


class GraphStream(RestStream[T]):
    """A Graph API edge: paged by ``paging.next``, resumed with ``since`` in epoch seconds."""

    paginator = NextUrl(path="paging.next")
    cursor_param: ClassVar[str | None] = "since"
    lookback: ClassVar[timedelta] = timedelta(0)
    nested_time: ClassVar[str] = "created_time"
    """The time field of nested records, to stop following their pages once they are older than the start."""

    _start: CursorValue | None = None

    def first_page(self, start: CursorValue | None) -> PageRequest:
        """Ask for records since ``start`` (minus ``lookback``), as epoch seconds."""
        self._start = start
        request = super().first_page(None)
        if start is None or not self.cursor_param:
            return request
        since = to_seconds(start) - int(self.lookback.total_seconds())
        return request.with_params(**{self.cursor_param: since})

    async def follow(self, edge: Mapping[str, Any] | None) -> list[Any]:
        """Return a nested list's records, following its ``paging.next`` while they are newer than the start."""
        records: list[Any] = list((edge or {}).get("data", []))
        next_url = ((edge or {}).get("paging") or {}).get("next")
        while next_url and records and not self._older_than_start(records[-1]):
            page = (await self.api.call("GET", str(next_url))).json()
            records.extend(page.get("data", []))
            next_url = (page.get("paging") or {}).get("next")
        return records

    def _older_than_start(self, record: Mapping[str, Any]) -> bool:
        value = record.get(self.nested_time)
        return self._start is not None and value is not None and str(value) < str(self._start)


class PagePosts(GraphStream[InboundPost]):
    """Posts on the Page (``GET /{page-id}/posts``), incremental on ``created_time``."""

    name = "page_posts"
    path = "/{page_id}/posts"
    records = "data"
    params: ClassVar[Mapping[str, str | int]] = {
        "fields": "id,message,created_time,permalink_url,from",
        "limit": PAGE_SIZE,
    }
    cursor_field = "created_time"

    def parse(self, raw: Any) -> InboundPost:
        """Turn one post into an item."""
        return post_from_graph(raw)


class PageComments(GraphStream[InboundComment]):
    """Comments on the Page's posts: the posts of the last ``COMMENT_LOOKBACK``, then ``/{post-id}/comments``.

    The Graph API lists comments per object only (meta.md d: ``filter=stream``, ``order=reverse_chronological``),
    so each post's comments are asked for newest first and followed until older than the cursor.
    """

    name = "page_comments"
    path = "/{page_id}/posts"
    records = "data"
    params: ClassVar[Mapping[str, str | int]] = {"fields": "id", "limit": PAGE_SIZE}
    cursor_field = "created_time"
    lookback = COMMENT_LOOKBACK

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Replace a page of posts by their comments, each marked with its ``post_id``."""
        comments: list[Any] = []
        params: dict[str, str | int] = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": PAGE_SIZE,
        }
        for post in records:
            first = (await self.api.call("GET", f"/{post['id']}/comments", params=params)).json()
            comments.extend({**comment, "post_id": post["id"]} for comment in await self.follow(first))
        return comments

    def parse(self, raw: Any) -> InboundComment | None:
        """Turn one comment into an item; None for the Page's own (as from the webhook: the outbox has ours)."""
        if str((raw.get("from") or {}).get("id", "")) == self.creds.get("page_id"):
            return None
        return page_comment_from_graph(raw, raw["post_id"])


class PageConversations(GraphStream[InboundMessage]):
    """Messenger messages: ``/{page-id}/conversations?platform=messenger`` with each one's ``messages``.

    Conversations come most recently updated first; the Page's own messages are left out (the outbox has
    them). Incremental on the message's ``created_time``; the list itself takes no ``since``.
    """

    name = "page_conversations"
    path = "/{page_id}/conversations"
    records = "data"
    params: ClassVar[Mapping[str, str | int]] = {
        "platform": "messenger",
        "fields": f"id,updated_time,messages.limit({PAGE_SIZE}){{{MESSAGE_FIELDS}}}",
    }
    cursor_field = "created_time"
    cursor_param = None
    space: ClassVar[Space] = Space.FACEBOOK
    own_id_key: ClassVar[str] = "page_id"

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Replace a page of conversations by their messages."""
        messages: list[Any] = []
        for conversation in records:
            messages.extend(await self.follow(conversation.get("messages")))
        return messages

    def parse(self, raw: Any) -> InboundMessage | None:
        """Turn one message into an item; None for the account's own."""
        return message_from_graph(raw, self.space, self.creds.get(self.own_id_key, ""))


class InstagramConversations(PageConversations):
    """Instagram Direct messages: the same edge with ``platform=instagram``, in the Instagram id space."""

    name = "instagram_conversations"
    params: ClassVar[Mapping[str, str | int]] = {**PageConversations.params, "platform": "instagram"}
    space = Space.INSTAGRAM
    own_id_key = "instagram_account_id"


class InstagramMedia(GraphStream[InboundPost]):
    """The Instagram account's media (``GET /{ig-user-id}/media``, meta.md d), incremental on ``timestamp``."""

    name = "instagram_media"
    path = "/{instagram_account_id}/media"
    records = "data"
    params: ClassVar[Mapping[str, str | int]] = {
        "fields": "id,caption,timestamp,permalink,media_type,media_url,username",
        "limit": PAGE_SIZE,
    }
    cursor_field = "timestamp"

    def parse(self, raw: Any) -> InboundPost:
        """Turn one media object into a post."""
        return media_from_graph(raw, self.creds.get("instagram_account_id", ""))


class InstagramComments(GraphStream[InboundComment]):
    """Comments and their replies on recent media: ``GET /<IG_MEDIA_ID>/comments`` (meta.md d, comment-moderation)."""

    name = "instagram_comments"
    path = "/{instagram_account_id}/media"
    records = "data"
    params: ClassVar[Mapping[str, str | int]] = {"fields": "id", "limit": PAGE_SIZE}
    cursor_field = "timestamp"
    lookback = COMMENT_LOOKBACK
    nested_time = "timestamp"

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Replace a page of media by their comments and replies, each marked with its ``media_id``."""
        found: list[Any] = []
        params: dict[str, str | int] = {
            "fields": f"{IG_COMMENT_FIELDS},replies{{{IG_COMMENT_FIELDS}}}",
            "limit": PAGE_SIZE,
        }
        for media in records:
            first = (await self.api.call("GET", f"/{media['id']}/comments", params=params)).json()
            for comment in await self.follow(first):
                replies = (comment.pop("replies", None) or {}).get("data", [])
                found.extend({**c, "media_id": media["id"]} for c in [comment, *replies])
        return found

    def parse(self, raw: Any) -> InboundComment | None:
        """Turn one comment or reply into an item; None for the account's own."""
        if str((raw.get("from") or {}).get("id", "")) == self.creds.get("instagram_account_id"):
            return None
        return instagram_comment(raw, raw["media_id"])


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """A WhatsApp message template as Meta lists it: name, language, review status and category."""

    name: str
    language: str
    status: str
    category: str = ""
    components: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class MessageTemplates(GraphStream[TemplateInfo]):
    """The WhatsApp Business Account's templates (``GET /{waba-id}/message_templates``) [unverified path].

    Not an inbound stream: templates are listed to choose one for sending outside the 24-hour window.
    """

    name = "message_templates"
    path = "/{whatsapp_business_account_id}/message_templates"
    records = "data"
    params: ClassVar[Mapping[str, str | int]] = {
        "fields": "name,language,status,category,components",
        "limit": PAGE_SIZE,
    }
    cursor_param = None

    def parse(self, raw: Any) -> TemplateInfo:
        """Turn one template into its description."""
        return TemplateInfo(
            name=raw["name"],
            language=raw.get("language", ""),
            status=raw.get("status", ""),
            category=raw.get("category", ""),
            components=tuple(raw.get("components", [])),
            raw=raw,
        )

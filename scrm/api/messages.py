"""`/api/v1/messages`: what came in (and went out), newest first, filterable by tags."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, before, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, requires
from scrm.auth.roles import Permission, Principal
from scrm.inbox.conversations import reach
from scrm.models import Conversation, Message

Sentiment = Literal["negative", "neutral", "positive"]
Intent = Literal["purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other"]
ChannelId = Annotated[str | None, QueryParameter(description="Only this channel's items.")]
SentimentFilter = Annotated[Sentiment | None, QueryParameter(description="Only those tagged with this sentiment.")]
IntentFilter = Annotated[Intent | None, QueryParameter(description="Only those tagged with this intent.")]
LanguageFilter = Annotated[str | None, QueryParameter(description="Only those in this language (en, zh, other).")]


class MessageOut(msgspec.Struct):
    """One message as the API shows it; `tags` appear once the NLP pipeline has tagged it."""

    id: str
    external_id: str | None
    channel_id: str
    conversation_id: str
    contact_id: str
    direction: str
    text: str
    sent_at: datetime
    delivery_status: str | None
    tags: dict[str, Any] | None


class MessagePage(msgspec.Struct):
    """A page of messages, newest first, and the cursor of the next page (null on the last)."""

    items: list[MessageOut]
    next_cursor: str | None


def message_out(message: Message) -> MessageOut:
    """The API view of a message."""
    return MessageOut(
        id=str(message.id),
        external_id=message.external_id,
        channel_id=str(message.channel_id),
        conversation_id=str(message.conversation_id),
        contact_id=str(message.contact_id),
        direction=message.direction.value,
        text=message.text,
        sent_at=message.sent_at,
        delivery_status=message.delivery_status,
        tags=message.tags,
    )


async def reachable_messages(principal: Principal) -> dict[str, Any]:
    """The message filter for this principal: none, or messages of conversations an agent may see."""
    if not principal.is_limited:
        return {}
    conversations = await principal.scope.find(Conversation, reach(principal)).to_list()
    return {"conversation_id": {"$in": [c.id for c in conversations]}}


def tag_filters(sentiment: str | None, intent: str | None, language: str | None) -> dict[str, Any]:
    """Filters on the NLP tags stored with each message, comment and post."""
    chosen = {"tags.sentiment": sentiment, "tags.intent": intent, "tags.language": language}
    return {field: value for field, value in chosen.items() if value is not None}


async def message_page(principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int) -> MessagePage:
    """One page of the messages the principal may see that match `filters`."""
    query = principal.scope.find(Message, await reachable_messages(principal), filters, before(parse_cursor(cursor)))
    found = await query.sort("-_id").limit(limit + 1).to_list()
    return MessagePage([message_out(m) for m in found[:limit]], next_cursor([m.id for m in found], limit))


class MessagesController(Controller):
    """Messages across every channel of the workspace."""

    path = "/messages"
    tags = ("messages",)

    @get("/", guards=[requires(Permission.READ_CONTACTS)], summary="List messages, newest first")
    async def list(
        self,
        principal: Caller,
        channel_id: ChannelId = None,
        sentiment: SentimentFilter = None,
        intent: IntentFilter = None,
        language: LanguageFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> MessagePage:
        """Messages of the workspace (an agent: of their channels and teams), filterable by channel and tags."""
        filters = tag_filters(sentiment, intent, language)
        if channel_id is not None:
            filters["channel_id"] = parse_id(channel_id, "channel")
        return await message_page(principal, filters, cursor, limit)

    @get("/{message_id:str}", guards=[requires(Permission.READ_CONTACTS)], summary="Get a message")
    async def show(self, principal: Caller, message_id: FromPath[str]) -> MessageOut:
        """One message the caller may see; 404 otherwise (also for another workspace's)."""
        oid = parse_id(message_id, "message")
        return message_out(await principal.scope.get(Message, oid, await reachable_messages(principal)))

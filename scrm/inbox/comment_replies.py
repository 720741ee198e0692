"""Answering a comment: publicly under it, or privately (Meta private replies: the comment's author gets a message).

Both are outbox rows like any reply. A public reply is queued once per idempotency key; a private reply once
per comment, whatever the key (Meta takes one private reply per comment), and only within
``PRIVATE_REPLY_WINDOW`` of the comment. A private reply goes into the author's conversation on the channel
when there is one (the one named by the author's id in the same product), so it shows in the inbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.connectors.base import REPLY_CAPABILITIES, ReplyKind
from scrm.connectors.registry import CONNECTORS
from scrm.inbox.conversations import InboxInputError
from scrm.inbox.replies import IDEMPOTENCY_KEY, MAX_REPLY_LENGTH, ReplyRefused
from scrm.models import Comment, Contact, Conversation, OutboundMessage
from scrm.outbox import Outgoing, Source, enqueue, inbox_key

PRIVATE_REPLY_WINDOW = timedelta(days=7)
"""Meta: one private reply "within 7 days from when the post or comment was created" (private-replies page)."""


PRIVATE_REPLY_PLATFORMS = frozenset({"meta"})
"""Platforms whose comments can be answered with a private message (Facebook Pages and Instagram)."""


class AlreadyReplied(Exception):
    """The comment already has its one private reply."""


def comment_reach(principal: Principal) -> dict[str, object]:
    """The comments this principal may see: all of the workspace's, or (an agent) those of their channels."""
    return {"channel_id": {"$in": sorted(principal.channel_ids)}} if principal.is_limited else {}


def parse_comment_id(value: str) -> PydanticObjectId:
    """A comment id from a path; InboxInputError for anything that is not an id."""
    if not PydanticObjectId.is_valid(value):
        raise InboxInputError(f"Not a comment id: {value!r}")
    return PydanticObjectId(value)


async def get_comment(principal: Principal, comment_id: PydanticObjectId) -> Comment:
    """A comment the principal may see; NotInWorkspace otherwise."""
    return await principal.scope.get(Comment, comment_id, comment_reach(principal))


async def reply_to_comment(
    principal: Principal,
    comment_id: PydanticObjectId,
    text: str,
    idempotency_key: str,
    now: datetime,
    *,
    private: bool,
) -> OutboundMessage:
    """Queue a public (or private) reply to a comment; the same key again returns the same row.

    Raises InboxInputError for bad input, ReplyRefused when the platform cannot take it (no such kind of
    reply, an unknown author, a private reply after 7 days or to our own comment), AlreadyReplied for a second
    private reply, NotInWorkspace for a comment the principal may not see.
    """
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_REPLY_LENGTH:
        raise InboxInputError(f"A reply has 1 to {MAX_REPLY_LENGTH} characters")
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise InboxInputError("The idempotency key has 8 to 100 letters, digits or any of _ . : -")
    comment = await get_comment(principal, comment_id)
    assert comment.id is not None
    kind = ReplyKind.PRIVATE_REPLY if private else ReplyKind.COMMENT
    capabilities = next((c.capabilities for c in CONNECTORS if c.platform == comment.platform), frozenset())
    if REPLY_CAPABILITIES[kind] not in capabilities or (private and comment.platform not in PRIVATE_REPLY_PLATFORMS):
        raise ReplyRefused(f"{comment.platform} cannot send a {kind.value.replace('_', ' ')} to a comment.")
    if comment.contact_id is None:
        raise ReplyRefused("The platform did not say who wrote this comment, so it cannot be answered.")
    conversation_id = None
    if private:
        if comment.from_us:
            raise ReplyRefused("A private reply goes to the comment's author, and this comment is ours.")
        if now - comment.created_time > PRIVATE_REPLY_WINDOW:
            raise ReplyRefused("A private reply can be sent only within 7 days of the comment.")
        conversation_id = await _author_conversation(principal, comment)
    key = f"private_reply:{comment.id}" if private else inbox_key(f"comment:{comment.id}:{idempotency_key}")
    outgoing = Outgoing(
        workspace_id=principal.workspace_id,
        channel_id=comment.channel_id,
        contact_id=comment.contact_id,
        source=Source.INBOX,
        dedupe_key=key,
        text=cleaned,
        conversation_id=conversation_id,
        kind=kind.value,
        to=comment.external_id,
        extra={"author": principal.actor, "comment_id": str(comment.id), "idempotency_key": idempotency_key},
    )
    row = await enqueue(outgoing, now)
    if private and row.payload.get("idempotency_key") != idempotency_key:
        raise AlreadyReplied("This comment already has its private reply (the platform allows one per comment).")
    return row


async def _author_conversation(principal: Principal, comment: Comment) -> PydanticObjectId | None:
    """The author's conversation on the comment's channel in the comment's product, if they have one."""
    contact = await principal.scope.find_one(Contact, {"_id": comment.contact_id})
    space = comment.external_id.partition(":")[0]
    ids = [i.external_id for i in (contact.identities if contact else []) if i.external_id.startswith(f"{space}:")]
    if not ids:
        return None
    found = await principal.scope.find_one(
        Conversation, {"channel_id": comment.channel_id, "contact_id": comment.contact_id, "external_id": {"$in": ids}}
    )
    return found.id if found is not None else None


async def record_public_reply(row: OutboundMessage, external_id: str, at: datetime) -> None:
    """Keep a sent public reply as our comment under the one it answers, so threads and timelines show it.

    Meta does not hand the Page's own comments back as anyone's (the connector drops them), so this is where
    they are recorded; the unique (platform, channel, external id) makes a repeat change nothing.
    """
    parent_id = str(row.payload.get("comment_id", ""))
    parent = await Comment.get(PydanticObjectId(parent_id)) if PydanticObjectId.is_valid(parent_id) else None
    if parent is None or not external_id:
        return
    ours = Comment(
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
        platform=parent.platform,
        external_id=external_id,
        post_external_id=parent.post_external_id,
        post_id=parent.post_id,
        parent_external_id=parent.external_id,
        contact_id=parent.contact_id,  # whom it answers: the contact's timeline shows it as our reply
        from_us=True,
        text=str(row.payload.get("text", "")),
        created_time=at,
        created_at=at,
        handled_at=at,  # nothing for the pipeline to do with our own comment
    )
    document = ours.model_dump(by_alias=True, exclude={"id"})
    key = {"platform": ours.platform, "channel_id": ours.channel_id, "external_id": external_id}
    await Comment.get_pymongo_collection().update_one(key, {"$setOnInsert": document}, upsert=True)

"""The overview page's numbers and lists for one workspace, read straight from MongoDB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from beanie import PydanticObjectId
from beanie.operators import In

from scrm.models import Channel, Comment, Contact, Conversation, Message, Post, Workspace

RECENT = 10


@dataclass(frozen=True, slots=True)
class Age:
    """A time span for people: `count` of `unit` (`now`, `minutes`, `hours` or `days`)."""

    unit: str
    count: int


def age_of(then: datetime, now: datetime) -> Age:
    """How long ago `then` was, rounded down to the largest whole unit (under a minute is `now`)."""
    then = then if then.tzinfo is not None else then.replace(tzinfo=UTC)
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return Age(unit, seconds // size)
    return Age("now", 0)


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """One channel as the overview lists it."""

    name: str
    platform: str
    status: str
    reason: str = ""
    """Why the channel needs attention, as its platform's connector said (shown under an unhealthy status)."""
    id: str = ""
    checked_ago: Age | None = None
    """How long ago the platform was last asked about the channel's credentials; None: never."""
    warning: str = ""
    """What the last check warned of while the channel still works (a token ending soon), as the platform said."""
    expires_at: datetime | None = None
    """With a warning: when the credentials stop working (shown as "Token expires on …")."""


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One recent conversation or comment: who, where, what, when."""

    contact: str
    channel: str
    preview: str
    status: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Overview:
    """What the overview shows about one workspace."""

    workspace: str
    counts: dict[str, int]
    channels: list[ChannelRow]
    conversations: list[ActivityRow]
    comments: list[ActivityRow]


async def find_overview(workspace: Workspace | None, now: datetime | None = None) -> Overview | None:
    """The overview of the signed-in user's workspace, or None when they have none."""
    if workspace is None or workspace.id is None:
        return None
    now = now or datetime.now(UTC)
    ws = workspace.id
    channels = await Channel.find(Channel.workspace_id == ws).sort("+name").to_list()
    channel_names = {c.id: c.name for c in channels}
    conversations = await _recent_conversations(ws, channel_names)
    comments = await _recent_comments(ws, channel_names)
    counts = {
        "channels": len(channels),
        "contacts": await Contact.find(Contact.workspace_id == ws).count(),
        "conversations": await Conversation.find(Conversation.workspace_id == ws).count(),
        "messages": await Message.find(Message.workspace_id == ws).count(),
        "posts": await Post.find(Post.workspace_id == ws).count(),
        "comments": await Comment.find(Comment.workspace_id == ws).count(),
    }
    rows = [
        ChannelRow(
            c.name,
            c.platform,
            c.status.value,
            c.status_reason,
            id=str(c.id),
            checked_ago=age_of(c.credentials_checked_at, now) if c.credentials_checked_at else None,
            warning=c.credentials_warning,
            expires_at=c.credentials_expire_at,
        )
        for c in channels
    ]
    return Overview(workspace.display_name or workspace.name, counts, rows, conversations, comments)


async def _recent_conversations(
    ws: PydanticObjectId, channel_names: dict[PydanticObjectId | None, str]
) -> list[ActivityRow]:
    found = await Conversation.find(Conversation.workspace_id == ws).sort("-last_message_at").limit(RECENT).to_list()
    names = await _contact_names([c.contact_id for c in found])
    return [
        ActivityRow(
            names.get(c.contact_id, "?"),
            channel_names.get(c.channel_id, "?"),
            c.last_message_preview,
            c.status.value,
            c.last_message_at,
        )
        for c in found
    ]


async def _recent_comments(
    ws: PydanticObjectId, channel_names: dict[PydanticObjectId | None, str]
) -> list[ActivityRow]:
    found = await Comment.find(Comment.workspace_id == ws).sort("-created_time").limit(RECENT).to_list()
    names = await _contact_names([c.contact_id for c in found if c.contact_id is not None])
    return [
        ActivityRow(
            names.get(c.contact_id, "") if c.contact_id else "",
            channel_names.get(c.channel_id, "?"),
            c.text,
            "",
            c.created_time,
        )
        for c in found
    ]


async def _contact_names(ids: list[PydanticObjectId]) -> dict[PydanticObjectId | None, str]:
    if not ids:
        return {}
    contacts = await Contact.find(In(Contact.id, ids)).to_list()
    return {c.id: c.name or (c.identities[0].display_name if c.identities else "") for c in contacts}

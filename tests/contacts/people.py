"""People made straight in MongoDB for the merge tests: a workspace, a channel, contacts with their history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any

from beanie import PydanticObjectId

from scrm.models import (
    Channel,
    Comment,
    Consent,
    ConsentStatus,
    Contact,
    Conversation,
    Direction,
    Follow,
    FollowKind,
    Identity,
    Message,
    OutboundMessage,
    Post,
    Workspace,
    WorkspaceScope,
)

_serial = count(1)


@dataclass
class Place:
    """A workspace with one Meta channel (WhatsApp) and one Telegram channel."""

    scope: WorkspaceScope
    meta: Channel
    telegram: Channel

    @property
    def workspace_id(self) -> PydanticObjectId:
        """The workspace's id."""
        return self.scope.workspace_id


async def make_place(name: str, now: datetime) -> Place:
    """A new workspace with its two channels."""
    workspace = Workspace(name=name, created_at=now)
    await workspace.insert()
    assert workspace.id is not None
    scope = WorkspaceScope(workspace.id)
    meta = await scope.insert(Channel(workspace_id=workspace.id, platform="meta", name=f"{name} page"))
    telegram = await scope.insert(Channel(workspace_id=workspace.id, platform="telegram", name=f"{name} bot"))
    return Place(scope=scope, meta=meta, telegram=telegram)


async def add_person(place: Place, channel: Channel, external_id: str, now: datetime, **fields: Any) -> Contact:
    """A contact known by one identity on `channel`, with the fields given."""
    assert channel.id is not None
    identity = Identity(platform=channel.platform, external_id=external_id, channel_id=channel.id)
    contact = Contact(workspace_id=place.workspace_id, identities=[identity], created_at=now, **fields)
    return await place.scope.insert(contact)


async def add_history(place: Place, contact: Contact, channel: Channel, now: datetime) -> Conversation:
    """A conversation with an inbound message and a reply, a post and a comment, and a follow by `contact`."""
    assert contact.id is not None and channel.id is not None
    n, ws, identity = next(_serial), place.workspace_id, contact.identities[0]
    common: dict[str, Any] = {"workspace_id": ws, "channel_id": channel.id, "platform": channel.platform}
    thread = await place.scope.insert(
        Conversation(**common, contact_id=contact.id, external_id=identity.external_id, created_at=now)
    )
    assert thread.id is not None
    about = {"conversation_id": thread.id, "contact_id": contact.id}
    await place.scope.insert(
        Message(**common, **about, external_id=f"m{n}", direction=Direction.INBOUND, text="Hi", sent_at=now)
    )
    await place.scope.insert(
        OutboundMessage(workspace_id=ws, channel_id=channel.id, **about, dedupe_key=f"reply-{n}", source="inbox")
    )
    post = await place.scope.insert(
        Post(**common, external_id=f"p{n}", author_contact_id=contact.id, text="Look", published_at=now)
    )
    await place.scope.insert(
        Comment(
            **common, external_id=f"c{n}", post_external_id=post.external_id, contact_id=contact.id, created_time=now
        )
    )
    await place.scope.insert(
        Follow(**common, contact_id=contact.id, external_id=f"f{n}", kind=FollowKind.FOLLOW, at=now)
    )
    return thread


def denied(now: datetime) -> Consent:
    """Consent withdrawn through the web form at `now`."""
    return Consent(status=ConsentStatus.DENIED, source="web form", changed_at=now)

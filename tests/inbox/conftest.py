"""An inbox to work in: a workspace with a Telegram and a WeChat channel, conversations with tagged messages,
an admin, an agent of each channel, and API tokens for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from scrm.auth.accounts import add_member, create_user, create_workspace
from scrm.auth.tokens import create_token
from scrm.db import Database
from scrm.inbox.latest_tags import note_latest_tags
from scrm.models import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Identity,
    Message,
    Role,
    User,
    WorkspaceScope,
)
from tests.api.conftest import keyed_settings, scope_guard
from tests.auth.conftest import PASSWORD, clock, web
from tests.auth.forms import log_in

__all__ = ["clock", "keyed_settings", "scope_guard", "web"]


@dataclass
class Inbox:
    """The inbox world: its scope, channels, conversations by contact name, people and their API tokens."""

    scope: WorkspaceScope
    telegram: Channel
    wechat: Channel
    conversations: dict[str, Conversation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, who: str) -> dict[str, str]:
        """Authorization headers of someone's API token (`admin`, `agent`, `other_agent`, `viewer`)."""
        return {"authorization": f"Bearer {self.tokens[who]}"}

    def oid(self, name: str) -> PydanticObjectId:
        """The id of the conversation with the contact `name`."""
        found = self.conversations[name].id
        assert found is not None
        return found

    def cid(self, name: str) -> str:
        """The id of the conversation with the contact `name`, as text."""
        return str(self.conversations[name].id)

    async def add_message(
        self,
        conversation: Conversation,
        external_id: str,
        text: str,
        sent_at: datetime,
        direction: Direction = Direction.INBOUND,
        tags: dict[str, Any] | None = None,
    ) -> Message:
        """Store a message of `conversation` from (or to) its contact, as the pipeline records one."""
        assert conversation.id is not None
        return await self.scope.insert(
            Message(
                workspace_id=self.scope.workspace_id,
                channel_id=conversation.channel_id,
                conversation_id=conversation.id,
                contact_id=conversation.contact_id,
                platform=conversation.platform,
                external_id=external_id,
                direction=direction,
                text=text,
                sent_at=sent_at,
                tags=tags,
            )
        )


def tags(sentiment: str, intent: str, **extra: Any) -> dict[str, Any]:
    """Tags as the tagger stores them on a message."""
    return {"language": "en", "sentiment": sentiment, "intent": intent, "entities": [], **extra}


async def talk(
    inbox: Inbox, channel: Channel, name: str, at: datetime, lines: list[tuple[str, dict[str, Any] | None]]
) -> Conversation:
    """A contact on `channel` and their conversation with inbound messages one minute apart, ending at `at`."""
    assert channel.id is not None
    identity = Identity(platform=channel.platform, external_id=f"{name.lower()}-1", channel_id=channel.id)
    contact = await inbox.scope.insert(
        Contact(workspace_id=inbox.scope.workspace_id, name=name, identities=[identity], language="en")
    )
    assert contact.id is not None
    start = at - timedelta(minutes=len(lines) - 1)
    conversation = await inbox.scope.insert(
        Conversation(
            workspace_id=inbox.scope.workspace_id,
            channel_id=channel.id,
            contact_id=contact.id,
            platform=channel.platform,
            external_id=identity.external_id,
            last_message_at=at,
            last_inbound_at=at,
            last_message_preview=lines[-1][0],
            unread_count=len(lines),
        )
    )
    assert conversation.id is not None
    for index, (text, tagged) in enumerate(lines):
        await inbox.add_message(conversation, f"{name}-{index}", text, start + timedelta(minutes=index), tags=tagged)
    seen = [(conversation.id, tagged, start + timedelta(minutes=i)) for i, (_, tagged) in enumerate(lines) if tagged]
    await note_latest_tags(seen)  # as the pipeline does when it tags them
    inbox.conversations[name] = conversation
    return conversation


async def person(inbox: Inbox, key: str, role: Role, now: datetime, channels: list[PydanticObjectId]) -> None:
    """A user and an API token with this role (an agent: on these channels)."""
    user = await create_user(f"{key}@example.com", PASSWORD, now, display_name=key.replace("_", " ").title())
    await add_member(inbox.scope.workspace_id, user, role, now, actor="test", channel_ids=channels)
    _, plain = await create_token(inbox.scope, role, f"{key} token", now, actor="test", channel_ids=channels)
    inbox.users[key], inbox.tokens[key] = user, plain


@pytest.fixture
async def inbox(database: Database, now: datetime) -> Inbox:
    """Mia (Telegram, a complaint turned praise), Li (WeChat, a complaint) and Sam (Telegram, resolved)."""
    workspace = await create_workspace("shop", now, actor="test", display_name="Shop")
    assert workspace.id is not None
    scope = WorkspaceScope(workspace.id)
    telegram = await scope.insert(Channel(workspace_id=workspace.id, platform="telegram", name="Shop bot"))
    wechat = await scope.insert(Channel(workspace_id=workspace.id, platform="wechat", name="Shop 公众号"))
    world = Inbox(scope, telegram, wechat)
    await talk(
        world,
        telegram,
        "Mia",
        now - timedelta(minutes=5),
        [("My order is late!", tags("negative", "complaint")), ("Ah it came, thanks!", tags("positive", "praise"))],
    )
    await talk(
        world, wechat, "Li", now - timedelta(hours=1), [("咖啡洒了", tags("negative", "complaint", language="zh"))]
    )
    sam = await talk(world, telegram, "Sam", now - timedelta(hours=2), [("How much is a bag?", None)])
    await scope.find(Conversation, {"_id": sam.id}).update({"$set": {"status": ConversationStatus.RESOLVED.value}})
    assert telegram.id is not None and wechat.id is not None
    await person(world, "admin", Role.ADMIN, now, [])
    await person(world, "agent", Role.AGENT, now, [telegram.id])
    await person(world, "other_agent", Role.AGENT, now, [wechat.id])
    await person(world, "viewer", Role.VIEWER, now, [])
    return world


async def signed_in(web: httpx.AsyncClient, who: str) -> httpx.AsyncClient:
    """The web client logged in as `who@example.com`."""
    response = await log_in(web, f"{who}@example.com", PASSWORD, "/inbox")
    assert response.status_code in (200, 303), response.text
    return web

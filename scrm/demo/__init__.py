"""The demo workspace: channels, contacts, conversations, posts and comments in English and Chinese.

Loading is idempotent: every document is looked up by its unique key first, so loading twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from beanie import Document, PydanticObjectId

from scrm.auth.accounts import add_member, create_user, find_user
from scrm.models import (
    Channel,
    Comment,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Identity,
    Membership,
    Message,
    Post,
    Role,
    Workspace,
    WorkspaceScope,
)

DATA = Path(__file__).with_name("workspace.json")
DEMO_WORKSPACE = "demo"
# The demo owner's login, printed by `make run`: for trying scrm out, never for real data.
DEMO_OWNER_EMAIL = "owner@demo.example"
DEMO_OWNER_PASSWORD = "scrm-demo-owner"  # noqa: S105


@dataclass
class DemoSummary:
    """How many documents of each kind the load created (zero everywhere on a second load)."""

    workspace_id: PydanticObjectId | None = None
    created: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, was_created: bool) -> None:
        """Count one document of `kind`, if it was new."""
        self.created[kind] = self.created.get(kind, 0) + int(was_created)


async def load_demo(now: Callable[[], datetime]) -> DemoSummary:
    """Create the demo workspace and its data where missing; times are relative to `now()`."""
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    loader = _Loader(now(), DemoSummary())
    workspace = await loader.workspace(data["workspace"])
    await loader.owner(workspace)
    channels = {c["key"]: await loader.channel(workspace, c) for c in data["channels"]}
    contacts = {c["key"]: await loader.contact(workspace, channels, c) for c in data["contacts"]}
    for conversation in data["conversations"]:
        await loader.conversation(workspace, channels, contacts, conversation)
    for post in data["posts"]:
        await loader.post(workspace, channels, contacts, post)
    return loader.summary


async def _find_or_insert(document: Document, query: dict[str, Any]) -> tuple[Document, bool]:
    existing = await type(document).find_one(query)
    if existing is not None:
        return existing, False
    await document.insert()
    return document, True


@dataclass
class _Loader:
    at: datetime
    summary: DemoSummary

    def ago(self, minutes: float) -> datetime:
        return self.at - timedelta(minutes=minutes)

    async def workspace(self, spec: dict[str, Any]) -> PydanticObjectId:
        doc, new = await _find_or_insert(Workspace(**spec), {"name": spec["name"]})
        self.summary.count("workspaces", new)
        assert doc.id is not None
        self.summary.workspace_id = doc.id
        return doc.id

    async def owner(self, ws: PydanticObjectId) -> None:
        user = await find_user(DEMO_OWNER_EMAIL)
        self.summary.count("users", user is None)
        if user is None:
            user = await create_user(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, self.at, display_name="Demo Owner")
        assert user.id is not None
        if await WorkspaceScope(ws).find_one(Membership, {"user_id": user.id}) is None:
            await add_member(ws, user, Role.OWNER, self.at, actor="demo")

    async def channel(self, ws: PydanticObjectId, spec: dict[str, Any]) -> Channel:
        fields = {k: spec[k] for k in ("platform", "name", "config")}
        doc, new = await _find_or_insert(Channel(workspace_id=ws, **fields), {"workspace_id": ws, "name": spec["name"]})
        self.summary.count("channels", new)
        assert isinstance(doc, Channel)
        return doc

    async def contact(self, ws: PydanticObjectId, channels: dict[str, Channel], spec: dict[str, Any]) -> Contact:
        identities = [
            Identity(
                platform=channels[i["channel"]].platform,
                external_id=i["external_id"],
                channel_id=channels[i["channel"]].id,
                username=i.get("username", ""),
                display_name=i.get("display_name", ""),
            )
            for i in spec["identities"]
        ]
        fields = {k: spec[k] for k in ("name", "language", "timezone", "tags", "email", "phone") if k in spec}
        contact = Contact(workspace_id=ws, identities=identities, last_seen_at=self.at, **fields)
        doc, new = await _find_or_insert(contact, {"workspace_id": ws, "identities.key": identities[0].key})
        self.summary.count("contacts", new)
        assert isinstance(doc, Contact)
        return doc

    async def conversation(
        self,
        ws: PydanticObjectId,
        channels: dict[str, Channel],
        contacts: dict[str, Contact],
        spec: dict[str, Any],
    ) -> None:
        channel, contact = channels[spec["channel"]], contacts[spec["contact"]]
        assert channel.id is not None and contact.id is not None
        messages = spec["messages"]
        last, inbound = messages[-1], [m for m in messages if m["in"]]
        conversation = Conversation(
            workspace_id=ws,
            channel_id=channel.id,
            contact_id=contact.id,
            platform=channel.platform,
            external_id=spec["external_id"],
            status=ConversationStatus(spec["status"]),
            last_message_at=self.ago(last["minutes_ago"]),
            last_inbound_at=self.ago(inbound[-1]["minutes_ago"]) if inbound else None,
            last_message_preview=last["text"][:140],
            unread_count=1 if last["in"] and spec["status"] == "open" else 0,
        )
        query = {"channel_id": channel.id, "external_id": spec["external_id"]}
        doc, new = await _find_or_insert(conversation, query)
        self.summary.count("conversations", new)
        assert doc.id is not None
        for index, message in enumerate(messages):
            await self.message(conversation=doc.id, channel=channel, contact=contact.id, index=index, spec=message)

    async def message(
        self,
        *,
        conversation: PydanticObjectId,
        channel: Channel,
        contact: PydanticObjectId,
        index: int,
        spec: dict[str, Any],
    ) -> None:
        assert channel.id is not None
        external_id = f"demo-{conversation}-{index}"
        message = Message(
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            conversation_id=conversation,
            contact_id=contact,
            platform=channel.platform,
            external_id=external_id,
            direction=Direction.INBOUND if spec["in"] else Direction.OUTBOUND,
            text=spec["text"],
            sent_at=self.ago(spec["minutes_ago"]),
            delivery_status=None if spec["in"] else "delivered",
        )
        query = {"platform": channel.platform, "channel_id": channel.id, "external_id": external_id}
        _, new = await _find_or_insert(message, query)
        self.summary.count("messages", new)

    async def post(
        self,
        ws: PydanticObjectId,
        channels: dict[str, Channel],
        contacts: dict[str, Contact],
        spec: dict[str, Any],
    ) -> None:
        channel = channels[spec["channel"]]
        assert channel.id is not None
        post = Post(
            workspace_id=ws,
            channel_id=channel.id,
            platform=channel.platform,
            external_id=spec["external_id"],
            text=spec["text"],
            published_at=self.ago(spec["hours_ago"] * 60),
        )
        query = {"platform": channel.platform, "channel_id": channel.id, "external_id": spec["external_id"]}
        doc, new = await _find_or_insert(post, query)
        self.summary.count("posts", new)
        for comment in spec["comments"]:
            author = contacts[comment["contact"]].id if "contact" in comment else None
            await self.comment(channel, doc.id, spec["external_id"], author, comment)

    async def comment(
        self,
        channel: Channel,
        post_id: PydanticObjectId | None,
        post_external_id: str,
        author: PydanticObjectId | None,
        spec: dict[str, Any],
    ) -> None:
        assert channel.id is not None
        comment = Comment(
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            platform=channel.platform,
            external_id=spec["external_id"],
            post_external_id=post_external_id,
            post_id=post_id,
            parent_external_id=spec.get("parent"),
            contact_id=author,
            from_us=bool(spec.get("from_us")),
            text=spec["text"],
            created_time=self.ago(spec["minutes_ago"]),
        )
        query = {"platform": channel.platform, "channel_id": channel.id, "external_id": spec["external_id"]}
        _, new = await _find_or_insert(comment, query)
        self.summary.count("comments", new)

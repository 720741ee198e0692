"""The demo workspace: realistic data in both languages, and loading twice changes nothing."""

from __future__ import annotations

from datetime import datetime

from scrm.db import Database
from scrm.demo import load_demo
from scrm.models import Channel, Comment, Contact, Conversation, Message, Post, Workspace

COLLECTIONS = (Workspace, Channel, Contact, Conversation, Message, Post, Comment)


async def test_demo_load_creates_a_living_workspace(database: Database, now: datetime) -> None:
    summary = await load_demo(lambda: now)
    assert summary.created["workspaces"] == 1
    workspace = await Workspace.find_one(Workspace.name == "demo")
    assert workspace is not None
    assert {c.platform for c in await Channel.find_all().to_list()} >= {"telegram", "wechat", "meta"}
    texts = [m.text for m in await Message.find_all().to_list()]
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts), "Chinese messages"
    assert any(text.isascii() for text in texts), "English messages"
    assert await Comment.count() > 0 and await Post.count() > 0
    for document in COLLECTIONS[1:]:
        assert await document.find({"workspace_id": {"$ne": workspace.id}}).count() == 0


async def test_demo_load_twice_changes_nothing(database: Database, now: datetime) -> None:
    await load_demo(lambda: now)
    before = {d.__name__: await d.count() for d in COLLECTIONS}
    second = await load_demo(lambda: now)
    after = {d.__name__: await d.count() for d in COLLECTIONS}
    assert before == after
    assert sum(second.created.values()) == 0

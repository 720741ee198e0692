"""The demo workspace: its history replayed through the connectors and the pipeline, and loading twice is a no-op."""

from __future__ import annotations

import json
from datetime import datetime

from scrm.db import Database
from scrm.demo import DATA, load_demo
from scrm.models import Channel, ChannelCredentials, Comment, Contact, Conversation, Direction, Message, Post, Workspace
from scrm.models.sealed import SecretBox
from tests.conftest import TEST_SECRET_KEY

COLLECTIONS = (Workspace, Channel, ChannelCredentials, Contact, Conversation, Message, Post, Comment)
BOX = SecretBox.from_secret_key(TEST_SECRET_KEY)


async def test_the_demo_history_goes_through_the_pipeline(database: Database, now: datetime) -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    summary = await load_demo(now, BOX)
    assert summary.created["workspaces"] == 1 and summary.created["channels"] == 4
    workspace = await Workspace.find_one(Workspace.name == "demo")
    assert workspace is not None
    spoken = [m for c in data["conversations"] for m in c["messages"]]
    assert await Message.find(Message.direction == Direction.INBOUND).count() == sum(m["in"] for m in spoken)
    assert await Message.find(Message.direction == Direction.OUTBOUND).count() == sum(not m["in"] for m in spoken)
    assert await Conversation.count() == len(data["conversations"])
    assert await Post.count() == len(data["posts"]) and await Comment.count() == 4
    wechat = await Message.find_one(Message.platform == "wechat", Message.direction == Direction.INBOUND)
    assert wechat is not None and any("\u4e00" <= ch <= "\u9fff" for ch in wechat.text), "decrypted safe-mode text"
    bob = await Contact.find_one(Contact.name == "Bob Martins")
    assert bob is not None and bob.email is None and "wholesale" in bob.tags
    assert await Comment.find(Comment.contact_id == bob.id).count() == 1, "Messenger and Page comments: one person"
    stored = await ChannelCredentials.get_pymongo_collection().find_one({})
    assert stored is not None and all(value.startswith("scrm1:") for value in stored["values"].values())
    for document in COLLECTIONS[1:]:
        assert await document.find({"workspace_id": {"$ne": workspace.id}}).count() == 0


async def test_demo_load_twice_changes_nothing(database: Database, now: datetime) -> None:
    await load_demo(now, BOX)
    before = {d.__name__: await d.count() for d in COLLECTIONS}
    second = await load_demo(now, BOX)
    after = {d.__name__: await d.count() for d in COLLECTIONS}
    assert before == after
    assert sum(second.created.values()) == 0

"""The NLP in the product: an inbound complaint in Chinese is tagged, filterable in the API, and correctable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from scrm.auth.tokens import create_token
from scrm.db import Database
from scrm.models import Contact, Conversation, Message, Post, Role, TagCorrection, WorkspaceScope
from scrm.nlp import Tagger
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context
from tests.connectors.meta.stories import CAMILLE, CREDENTIALS, PAGE_ID
from tests.platform_fakes import (
    TELEGRAM_CREDENTIALS,
    TestChannel,
    make_channel,
    meta_headers,
    telegram_headers,
    telegram_update,
)

COMPLAINT = "外卖送到的时候咖啡全洒了，等了一个小时，太失望了，要求退款！"
PRAISE = "Best oat latte in town, thank you so much!! 😍"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    """The shipped models, loaded once for the module."""
    return Tagger.load()


async def _token(workspace_id: object, role: Role) -> dict[str, str]:
    scope = WorkspaceScope(workspace_id)  # type: ignore[arg-type]
    _, plain = await create_token(scope, role, f"{role.value} token", datetime.now(UTC), actor="test")
    return {"authorization": f"Bearer {plain}"}


async def _deliver_and_tag(
    client: httpx.AsyncClient, settings: Settings, tagger: Tagger, first_update: int, lines: list[tuple[str, int]]
) -> TestChannel:
    """Deliver (text, Telegram user id) lines to a new Telegram channel's webhook and run the tagging pipeline."""
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    for number, (text, user) in enumerate(lines):
        body = telegram_update(first_update + number, text, user_id=user)
        delivered = await client.post(f"/webhooks/telegram/{channel.id}", content=body, headers=telegram_headers())
        assert delivered.is_success
    context = pipeline_context(settings, lambda: datetime.now(UTC), tagger=tagger)
    while await drain_raw_events(context):
        pass
    return channel


async def test_a_chinese_complaint_is_tagged_filterable_and_correctable(
    client: httpx.AsyncClient, database: Database, settings: Settings, tagger: Tagger
) -> None:
    channel = await _deliver_and_tag(client, settings, tagger, 9100, [(COMPLAINT, 801), (PRAISE, 802)])

    complaint = await Message.find_one(Message.text == COMPLAINT)
    assert complaint is not None and complaint.tags is not None
    assert complaint.tags["language"] == "zh"
    assert complaint.tags["sentiment"] == "negative"
    assert complaint.tags["intent"] == "complaint"
    assert complaint.tags["model_version"]
    contact = await Contact.get(complaint.contact_id)
    assert contact is not None and contact.sentiment is not None and contact.sentiment < 0
    conversation = await Conversation.get(complaint.conversation_id)
    assert conversation is not None and conversation.latest_tags is not None
    assert (conversation.latest_tags.sentiment, conversation.latest_tags.intent) == ("negative", "complaint")

    headers = await _token(channel.workspace_id, Role.ADMIN)
    negative = await client.get("/api/v1/messages", params={"sentiment": "negative"}, headers=headers)
    assert negative.status_code == 200
    assert [m["text"] for m in negative.json()["items"]] == [COMPLAINT]
    complaints = await client.get("/api/v1/messages", params={"intent": "complaint"}, headers=headers)
    assert [m["text"] for m in complaints.json()["items"]] == [COMPLAINT]

    corrected = await client.put(
        f"/api/v1/messages/{complaint.id}/tags", json={"sentiment": "neutral"}, headers=headers
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["tags"]["sentiment"] == "neutral"
    assert corrected.json()["tags"]["corrected"] == {"sentiment": "negative"}
    stored = await TagCorrection.find_one(TagCorrection.message_id == complaint.id)
    assert stored is not None and stored.label == "neutral" and stored.predicted == "negative"
    refreshed = await Contact.get(complaint.contact_id)
    assert refreshed is not None and refreshed.sentiment == 0.0
    still_negative = await client.get("/api/v1/messages", params={"sentiment": "negative"}, headers=headers)
    assert still_negative.json()["items"] == []
    inbox = await client.get("/api/v1/conversations", params={"sentiment": "neutral"}, headers=headers)
    assert [c["id"] for c in inbox.json()["items"]] == [str(complaint.conversation_id)]


async def test_a_correction_needs_a_label_and_a_writer(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    body = telegram_update(9200, "hello")
    await client.post(f"/webhooks/telegram/{channel.id}", content=body, headers=telegram_headers())
    while await drain_raw_events(pipeline_context(settings, lambda: datetime.now(UTC))):
        pass
    message = await Message.find_one({})
    assert message is not None
    admin = await _token(channel.workspace_id, Role.ADMIN)
    empty = await client.put(f"/api/v1/messages/{message.id}/tags", json={}, headers=admin)
    assert empty.status_code == 400
    wrong = await client.put(f"/api/v1/messages/{message.id}/tags", json={"sentiment": "furious"}, headers=admin)
    assert wrong.status_code == 400
    viewer = await _token(channel.workspace_id, Role.VIEWER)
    refused = await client.put(f"/api/v1/messages/{message.id}/tags", json={"sentiment": "neutral"}, headers=viewer)
    assert refused.status_code == 403


async def test_an_angry_emoji_is_negative_and_a_blank_message_is_left_untagged(
    client: httpx.AsyncClient, database: Database, settings: Settings, tagger: Tagger
) -> None:
    await _deliver_and_tag(client, settings, tagger, 9300, [("😡😡", 811), (" \n ", 812)])

    angry = await Message.find_one(Message.text == "😡😡")
    assert angry is not None and angry.tags is not None
    assert (angry.tags["language"], angry.tags["sentiment"]) == ("other", "negative")
    contact = await Contact.get(angry.contact_id)
    assert contact is not None and contact.sentiment is not None and contact.sentiment < 0
    blank = await Message.find_one(Message.text == " \n ")
    assert blank is not None and blank.tags is None
    quiet = await Contact.get(blank.contact_id)
    assert quiet is not None and quiet.sentiment is None


def _feed(value: dict[str, Any]) -> bytes:
    """A signed-to-be Page ``feed`` change."""
    entry = {"id": PAGE_ID, "time": value["created_time"], "changes": [{"field": "feed", "value": value}]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


async def test_page_posts_and_comments_are_tagged_and_filterable(
    client: httpx.AsyncClient, database: Database, settings: Settings, tagger: Tagger
) -> None:
    channel = await make_channel("meta", CREDENTIALS)
    at = int(datetime.now(UTC).timestamp()) - 60
    post = "Our autumn blend is back 🍂 with free shipping this week!"
    angry = "Ordered three weeks ago and still nothing, worst shop ever 😡"
    happy = "Love this blend, best coffee I have had in years!!"
    bodies = [
        _feed({"from": {"id": PAGE_ID, "name": "Shop"}, "message": post, "post_id": f"{PAGE_ID}_9001",
               "created_time": at, "item": "status", "verb": "add"}),
        *[_feed({"from": {"id": who[0], "name": who[1]}, "message": text, "post_id": f"{PAGE_ID}_9001",
                 "comment_id": f"9001_{n}", "created_time": at + n, "item": "comment", "parent_id": f"{PAGE_ID}_9001",
                 "verb": "add"})
          for n, (who, text) in enumerate([(CAMILLE, angry), (("1254459154682920", "Noa Levi"), happy)], start=1)],
    ]  # fmt: skip
    for body in bodies:
        delivered = await client.post(f"/webhooks/meta/{channel.id}", content=body, headers=meta_headers(body))
        assert delivered.status_code == 200, delivered.text
    context = pipeline_context(settings, lambda: datetime.now(UTC), tagger=tagger)
    while await drain_raw_events(context):
        pass

    headers = await _token(channel.workspace_id, Role.ADMIN)
    negative = await client.get("/api/v1/comments", params={"sentiment": "negative"}, headers=headers)
    assert negative.status_code == 200, negative.text
    [found] = negative.json()["items"]
    assert found["text"] == angry and found["tags"]["intent"] == "complaint"
    assert found["tags"]["model_version"] == tagger.version
    praise = await client.get("/api/v1/comments", params={"intent": "praise"}, headers=headers)
    assert [c["text"] for c in praise.json()["items"]] == [happy]
    posts = await client.get("/api/v1/posts", params={"language": "en"}, headers=headers)
    [shown] = posts.json()["items"]
    assert shown["text"] == post and shown["tags"]["sentiment"] == "positive"
    stored = await Post.find_one(Post.text == post)
    assert stored is not None and stored.tags is not None and stored.tags["language"] == "en"
    nothing = await client.get("/api/v1/posts", params={"sentiment": "negative"}, headers=headers)
    assert nothing.json()["items"] == []
    wrong = await client.get("/api/v1/comments", params={"sentiment": "furious"}, headers=headers)
    assert wrong.status_code == 400

"""The generic API channel: events in through `POST /api/v1/channels/{id}/inbound`, replies out to a signed URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import respx

from scrm.connectors.api.connector import GenericApi, outbound_signature
from scrm.connectors.base import Reply
from scrm.db import Database
from scrm.models import Comment, Contact, Follow, Message, Post, RawEvent
from scrm.settings import Settings
from tests.connectors.memory import InMemoryTokenStore
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import make_channel

CREDENTIALS = {"inbound_token": "in-7f3a9c", "outbound_url": "https://crm.example.com/scrm", "signing_secret": "s3"}
BATCH = {
    "events": [
        {"type": "post", "id": "p-1", "text": "Autumn menu is here", "at": "2026-05-20T08:00:00Z"},
        {"type": "message", "id": "m-1", "conversation_id": "t-1", "text": "Do you deliver to Pudong?",
         "from": {"id": "u-1", "name": "Lin Wei", "language": "en"}, "at": "2026-05-20T09:30:00Z"},
        {"type": "comment", "id": "c-1", "post_id": "p-1", "from": {"id": "u-1"}, "text": "Looks great",
         "at": "2026-05-20T09:31:00Z"},
        {"type": "follow", "id": "f-1", "from": {"id": "u-2", "name": "Sam"}, "at": "2026-05-20T09:32:00Z"},
    ]
}  # fmt: skip


def _auth(token: str = CREDENTIALS["inbound_token"]) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_batch_becomes_messages_posts_comments_and_follows(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("api", CREDENTIALS)
    response = await client.post(f"/api/v1/channels/{channel.id}/inbound", json=BATCH, headers=_auth())
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 4 and response.json()["duplicate"] is False
    await drain(settings)
    assert [m.text for m in await Message.find_all().to_list()] == ["Do you deliver to Pudong?"]
    assert await Post.count() == 1 and await Follow.count() == 1
    comment = await Comment.find_one({})
    post = await Post.find_one({})
    assert comment is not None and post is not None and comment.post_id == post.id
    assert await Contact.count() == 2


async def test_an_idempotency_key_makes_a_retry_a_no_op(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("api", CREDENTIALS)
    headers = {**_auth(), "idempotency-key": "batch-0001"}
    first = await client.post(f"/api/v1/channels/{channel.id}/inbound", json=BATCH, headers=headers)
    again = await client.post(f"/api/v1/channels/{channel.id}/inbound", json=BATCH, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["duplicate"] is True
    assert await RawEvent.count() == 1


async def test_a_wrong_token_is_401_and_an_unknown_channel_404(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("api", CREDENTIALS)
    wrong = await client.post(f"/api/v1/channels/{channel.id}/inbound", json=BATCH, headers=_auth("guess"))
    assert wrong.status_code == 401
    missing = await client.post(f"/api/v1/channels/{channel.id}/inbound", json=BATCH)
    assert missing.status_code == 401
    unknown = await client.post("/api/v1/channels/0123456789abcdef01234567/inbound", json=BATCH, headers=_auth())
    assert unknown.status_code == 404
    telegram = await make_channel("telegram", {"bot_token": "1:x", "secret_token": "t"})
    mismatch = await client.post(f"/api/v1/channels/{telegram.id}/inbound", json=BATCH, headers=_auth())
    assert mismatch.status_code == 404
    assert await RawEvent.count() == 0


async def test_a_malformed_batch_is_400_saying_what_is_wrong(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("api", CREDENTIALS)
    url = f"/api/v1/channels/{channel.id}/inbound"
    bad_json = await client.post(url, content=b"{nope", headers={**_auth(), "content-type": "application/json"})
    assert bad_json.status_code == 400
    unknown_type = {"events": [{"type": "poke", "id": "x", "at": "2026-05-20T09:30:00Z"}]}
    response = await client.post(url, json=unknown_type, headers=_auth())
    assert response.status_code == 400 and "poke" in response.text
    no_sender = {"events": [{"type": "message", "id": "m", "conversation_id": "t", "at": "2026-05-20T09:30:00Z"}]}
    response = await client.post(url, json=no_sender, headers=_auth())
    assert response.status_code == 400 and "from" in response.text
    assert await RawEvent.count() == 0


@respx.mock
async def test_a_reply_is_posted_signed_to_the_outbound_url() -> None:
    route = respx.post(CREDENTIALS["outbound_url"]).mock(return_value=httpx.Response(200, json={"id": "their-9"}))
    async with httpx.AsyncClient() as http:
        sent = await GenericApi(InMemoryTokenStore()).send(http, CREDENTIALS, Reply(to="t-1", text="Yes, we do!"))
    assert sent == "their-9"
    request = route.calls.last.request
    timestamp = request.headers["x-scrm-timestamp"]
    assert abs(int(timestamp) - datetime.now(UTC).timestamp()) < 300
    assert request.headers["x-scrm-signature"] == outbound_signature("s3", timestamp, request.content)
    assert json.loads(request.content) == {"type": "message", "to": "t-1", "text": "Yes, we do!", "reply_to": ""}


async def test_a_comment_that_arrives_before_its_post_is_linked_when_the_post_comes(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("api", CREDENTIALS)
    url = f"/api/v1/channels/{channel.id}/inbound"
    comment, post = BATCH["events"][2], BATCH["events"][0]
    assert (await client.post(url, json={"events": [comment]}, headers=_auth())).status_code == 202
    await drain(settings)
    assert (await client.post(url, json={"events": [post]}, headers=_auth())).status_code == 202
    await drain(settings)
    stored_comment, stored_post = await Comment.find_one({}), await Post.find_one({})
    assert stored_comment is not None and stored_post is not None
    assert stored_comment.post_id == stored_post.id

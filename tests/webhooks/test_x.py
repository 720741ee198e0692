"""X through the real ingress: the CRC, signed Account Activity deliveries, and what the pipeline makes of them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrm.db import Database
from scrm.models import (
    Channel,
    ChannelStatus,
    Comment,
    Contact,
    Conversation,
    Follow,
    FollowKind,
    Message,
    Post,
    RawEvent,
)
from scrm.settings import Settings
from tests import platform_fakes as fakes
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import X_CREDENTIALS, make_channel, x_headers

FIXTURES = Path(__file__).parents[1] / "connectors" / "x" / "fixtures"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "platforms" / "samples"
JORDAN = "3001969357"


def read(path: Path) -> dict[str, Any]:
    """An Account Activity body from the connector's fixtures (built from the documented fields)."""
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return body


def activity(**arrays: Any) -> bytes:
    """One delivery for our account holding the given event arrays (X sends one kind per delivery)."""
    return json.dumps({"for_user_id": X_CREDENTIALS["user_id"], **arrays}).encode()


async def post(client: httpx.AsyncClient, channel: fakes.TestChannel, body: bytes) -> httpx.Response:
    """Deliver a body signed with the app's consumer secret, as X does."""
    return await client.post(f"/webhooks/x/{channel.id}", content=body, headers=x_headers(body))


async def test_the_crc_is_answered_with_the_consumer_secrets_hmac(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    response = await client.get(f"/webhooks/x/{channel.id}", params={"crc_token": "challenge-4815162342"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    digest = hmac.new(X_CREDENTIALS["consumer_secret"].encode(), b"challenge-4815162342", hashlib.sha256).digest()
    assert response.json() == {"response_token": "sha256=" + base64.b64encode(digest).decode()}


async def test_a_crc_without_a_token_or_a_secret_is_refused(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    assert (await client.get(f"/webhooks/x/{channel.id}")).status_code == 400
    keyless = await make_channel("x", {k: v for k, v in X_CREDENTIALS.items() if k != "consumer_secret"}, "other")
    response = await client.get(f"/webhooks/x/{keyless.id}", params={"crc_token": "challenge"})
    assert response.status_code == 403 and "response_token" not in response.text


async def test_a_signed_dm_is_stored_under_its_event_id_once(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    body = (SAMPLES / "x_account_activity_direct_message_events.json").read_bytes()
    for _ in range(2):
        response = await post(client, channel, body)
        assert response.status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id == "direct_message_events:954491830116155396" and raw.body == body
    assert raw.headers["x-twitter-webhooks-signature"] == x_headers(body)["x-twitter-webhooks-signature"]


@pytest.mark.parametrize("tamper", ["body", "signature", "other-secret", "no-prefix", "no-header"])
async def test_a_tampered_delivery_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, tamper: str
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    body = (SAMPLES / "x_account_activity_direct_message_events.json").read_bytes()
    headers = x_headers(body)
    if tamper == "body":
        body = body.replace(b"Hello World!", b"Hello World?")
    elif tamper == "signature":
        headers["x-twitter-webhooks-signature"] = x_headers(body + b"\n")["x-twitter-webhooks-signature"]
    elif tamper == "other-secret":
        headers = x_headers(body, "another-consumer-secret")
    elif tamper == "no-prefix":
        headers["x-twitter-webhooks-signature"] = headers["x-twitter-webhooks-signature"].removeprefix("sha256=")
    else:
        del headers["x-twitter-webhooks-signature"]
    response = await client.post(f"/webhooks/x/{channel.id}", content=body, headers=headers)
    assert response.status_code == 401
    assert await RawEvent.count() == 0


async def test_a_dm_a_mention_a_reply_and_a_follow_from_one_person_land_on_one_contact(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    tweets = read(FIXTURES / "tweet_create_events.json")["tweet_create_events"]
    follows = read(FIXTURES / "follow_events.json")["follow_events"]
    deliveries = [
        (SAMPLES / "x_account_activity_direct_message_events.json").read_bytes(),
        activity(tweet_create_events=tweets),
        activity(follow_events=follows),
    ]
    for body in deliveries:
        assert (await post(client, channel, body)).status_code == 200
    assert await drain(settings) == 3

    [message] = await Message.find_all().to_list()
    assert message.text == "Hello World!" and message.external_id == "954491830116155396"
    contact = await Contact.get(message.contact_id)
    assert contact is not None and contact.name == "Jordan Brinks"
    assert contact.identities[0].key == f"x:{JORDAN}" and contact.identities[0].username == "furiouscamper"
    conversation = await Conversation.get(message.conversation_id)
    assert conversation is not None and conversation.external_id == JORDAN and conversation.contact_id == contact.id

    [mention] = await Post.find_all().to_list()  # our own post, echoed back, is skipped
    assert mention.external_id == "2006700000000000001" and mention.text.startswith("@Harris_0ff is the spring")
    [reply] = await Comment.find_all().to_list()
    assert reply.post_external_id == "2006600000000000000" and reply.contact_id == contact.id

    kinds = {(f.kind, f.contact_id == contact.id) for f in await Follow.find_all().to_list()}
    assert kinds == {(FollowKind.FOLLOW, True), (FollowKind.UNFOLLOW, False)}  # our own follow of X is skipped
    assert await Contact.count() == 2  # Jordan, and XDevelopers who unfollowed


async def test_a_mention_is_linked_to_the_person_who_wrote_it(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    [mention] = read(FIXTURES / "tweet_create_events.json")["tweet_create_events"][:1]
    dm = (SAMPLES / "x_account_activity_direct_message_events.json").read_bytes()
    for body in (dm, activity(tweet_create_events=[mention])):
        assert (await post(client, channel, body)).status_code == 200
    await drain(settings)
    [contact] = await Contact.find_all().to_list()
    [stored] = await Post.find_all().to_list()
    assert stored.author_contact_id == contact.id


async def test_a_revocation_is_stored_and_yields_no_item(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    body = (SAMPLES / "x_account_activity_user_event_revoke.json").read_bytes()
    assert (await post(client, channel, body)).status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id == "sha256:" + hashlib.sha256(body).hexdigest()
    await drain(settings)
    assert await Contact.count() == 0 and await Message.count() == 0


async def test_a_revocation_marks_the_channel_unhealthy(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("x", X_CREDENTIALS | {"user_id": "63046977"})  # the sample's revoking account
    body = (SAMPLES / "x_account_activity_user_event_revoke.json").read_bytes()
    assert (await post(client, channel, body)).status_code == 200
    await drain(settings)
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status == ChannelStatus.UNHEALTHY
    assert "revoked" in stored.status_reason

"""LINE through the real ingress: signed deliveries, the console's connectivity check, and what they become."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrm.db import Database
from scrm.models import Contact, Conversation, Follow, FollowKind, Message, RawEvent, RawEventStatus
from scrm.settings import Settings
from tests import platform_fakes as fakes
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import LINE_CREDENTIALS, line_headers, make_channel

FIXTURES = Path(__file__).parents[1] / "connectors" / "line" / "fixtures"
DESTINATION = "U5f4e0a1b2c3d4e5f60718293a4b5c6d7"
CUSTOMER = "U4af4980629f1e2d3c4b5a69788796a5b"


def events(*kinds: str) -> list[dict[str, Any]]:
    """Events of the documented shapes (the connector's fixture), chosen by type, in fixture order."""
    body = json.loads((FIXTURES / "webhook_events.json").read_text(encoding="utf-8"))
    return [event for event in body["events"] if event["type"] in kinds]


def webhook(chosen: list[dict[str, Any]]) -> bytes:
    """A webhook body as LINE posts it: the bot's user id and the events."""
    return json.dumps({"destination": DESTINATION, "events": chosen}).encode()


async def post(client: httpx.AsyncClient, channel: fakes.TestChannel, body: bytes) -> httpx.Response:
    """Deliver a body signed with the channel secret, as LINE does."""
    return await client.post(f"/webhooks/line/{channel.id}", content=body, headers=line_headers(body))


async def test_a_signed_event_is_stored_under_its_webhook_event_id_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    [text] = [event for event in events("message") if event["message"]["type"] == "text"]
    body = webhook([text])
    first = await post(client, channel, body)
    assert first.status_code == 200
    redelivered = text | {"deliveryContext": {"isRedelivery": True}}
    again = await post(client, channel, webhook([redelivered]))  # other bytes, the same webhookEventId
    assert again.status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id == "01JGQ9X0A1B2C3D4E5F6G7H8J9" and raw.body == body
    assert raw.headers["x-line-signature"] == line_headers(body)["x-line-signature"]


async def test_the_consoles_empty_check_is_answered_200_and_stored_once(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    body = webhook([])
    assert (await post(client, channel, body)).status_code == 200
    assert (await post(client, channel, body)).status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id.startswith("sha256:")
    await drain(settings)
    processed = await RawEvent.get(raw.id)
    assert processed is not None and processed.status == RawEventStatus.PROCESSED
    assert await Message.count() == 0 and await Contact.count() == 0


@pytest.mark.parametrize("tamper", ["body", "signature", "other-secret", "no-header"])
async def test_a_tampered_delivery_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, tamper: str
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    body = webhook(events("message"))
    headers = line_headers(body)
    if tamper == "body":
        body = body.replace(b"open today", b"open tonight")
    elif tamper == "signature":
        headers["x-line-signature"] = line_headers(body + b" ")["x-line-signature"]
    elif tamper == "other-secret":
        headers = line_headers(body, "another-channel-secret")
    else:
        del headers["x-line-signature"]
    response = await client.post(f"/webhooks/line/{channel.id}", content=body, headers=headers)
    assert response.status_code == 401
    assert await RawEvent.count() == 0


async def test_get_has_no_handshake(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    response = await client.get(f"/webhooks/line/{channel.id}")
    assert response.status_code == 405
    assert "no GET handshake" in response.text


async def test_a_message_a_follow_and_an_unfollow_become_a_conversation_and_follows(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    [text] = [event for event in events("message") if event["message"]["type"] == "text"]
    [follow] = events("follow")
    [unfollow] = events("unfollow")
    for body in (webhook([follow]), webhook([text]), webhook([unfollow])):
        assert (await post(client, channel, body)).status_code == 200
    assert await drain(settings) == 3

    [message] = await Message.find_all().to_list()
    assert message.text == "你好, is the shop open today?" and message.external_id == "468789577898262530"
    contact = await Contact.get(message.contact_id)
    assert contact is not None and [i.key for i in contact.identities] == [f"line:{CUSTOMER}"]
    conversation = await Conversation.get(message.conversation_id)
    assert conversation is not None and conversation.external_id == CUSTOMER
    assert conversation.contact_id == contact.id
    follows = {f.kind: f for f in await Follow.find_all().to_list()}
    assert set(follows) == {FollowKind.FOLLOW, FollowKind.UNFOLLOW}
    assert follows[FollowKind.FOLLOW].contact_id == contact.id
    assert follows[FollowKind.FOLLOW].external_id == "01JGQ9X3A1B2C3D4E5F6G7H8J9"
    leaver = await Contact.get(follows[FollowKind.UNFOLLOW].contact_id)
    assert leaver is not None and leaver.identities[0].key == "line:U0123456789abcdef0123456789abcdef"
    assert await Contact.count() == 2


async def test_one_body_with_several_events_records_each_once(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("line", LINE_CREDENTIALS)
    body = webhook(events("message", "follow", "unfollow"))
    assert (await post(client, channel, body)).status_code == 200
    assert (await post(client, channel, webhook(events("message")))).status_code == 200  # a partial redelivery
    await drain(settings)
    assert await Message.count() == 3
    assert await Follow.count() == 2
    assert {m.text for m in await Message.find_all().to_list()} >= {"你好, is the shop open today?"}

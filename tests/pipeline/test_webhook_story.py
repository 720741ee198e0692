"""One story per platform: a signed delivery in, a contact, a conversation and a message out — exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from scrm.db import Database
from scrm.models import Contact, Conversation, Message, RawEvent, RawEventStatus
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context
from tests.platform_fakes import (
    TELEGRAM_CREDENTIALS,
    WECHAT_CREDENTIALS,
    api_headers,
    make_channel,
    telegram_headers,
    telegram_update,
    wechat_safe_delivery,
    wechat_text_xml,
)


async def drain(settings: Settings) -> int:
    """Run the worker's pipeline until nothing is pending."""
    context = pipeline_context(settings, lambda: datetime.now(UTC))
    total = 0
    while claimed := await drain_raw_events(context):
        total += claimed
    return total


async def test_a_signed_telegram_update_becomes_a_contact_a_conversation_and_a_message(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    url = f"/webhooks/telegram/{channel.id}"
    body = telegram_update(5001, "Do you ship to Berlin?")
    response = await client.post(url, content=body, headers=telegram_headers())
    assert response.status_code == 200
    raw = await RawEvent.find_one(RawEvent.event_id == "5001")
    assert raw is not None and raw.status == RawEventStatus.PENDING
    assert await drain(settings) == 1
    message = await Message.find_one(Message.channel_id == channel.id)
    assert message is not None and message.text == "Do you ship to Berlin?"
    contact = await Contact.get(message.contact_id)
    assert contact is not None and contact.name == "Mia" and contact.identities[0].key == "telegram:777"
    conversation = await Conversation.get(message.conversation_id)
    assert conversation is not None and conversation.contact_id == contact.id
    assert conversation.last_message_preview == "Do you ship to Berlin?"
    processed = await RawEvent.get(raw.id)
    assert processed is not None and processed.status == RawEventStatus.PROCESSED and processed.expire_at is not None

    headers = await api_headers(channel.workspace_id)
    listed = (await client.get("/api/v1/messages", params={"channel_id": str(channel.id)}, headers=headers)).json()
    [item] = listed["items"]
    assert item["text"] == "Do you ship to Berlin?" and item["direction"] == "inbound"
    assert {item["channel_id"], item["conversation_id"], item["contact_id"]} == {
        str(channel.id),
        str(conversation.id),
        str(contact.id),
    }
    assert item["external_id"] == message.external_id and item["sent_at"]
    found = (await client.get(f"/api/v1/contacts/{contact.id}", headers=headers)).json()
    assert found["name"] == "Mia" and found["identities"][0]["platform"] == "telegram"
    thread = (await client.get(f"/api/v1/conversations/{conversation.id}/messages", headers=headers)).json()
    assert [m["text"] for m in thread["items"]] == ["Do you ship to Berlin?"]


async def test_a_wrong_secret_token_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    body = telegram_update(5002, "hello")
    response = await client.post(f"/webhooks/telegram/{channel.id}", content=body, headers=telegram_headers("guess"))
    assert response.status_code == 401
    missing = await client.post(f"/webhooks/telegram/{channel.id}", content=body, headers={"content-type": "json"})
    assert missing.status_code == 401
    assert await RawEvent.count() == 0


async def test_unknown_channels_and_platform_mismatches_are_404(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    body, headers = telegram_update(1, "x"), telegram_headers()
    unknown = await client.post("/webhooks/telegram/000000000000000000000000", content=body, headers=headers)
    assert unknown.status_code == 404
    assert (await client.post("/webhooks/telegram/not-an-id", content=body, headers=headers)).status_code == 404
    assert (await client.post(f"/webhooks/wechat/{channel.id}", content=body, headers=headers)).status_code == 404
    assert (await client.post(f"/webhooks/myspace/{channel.id}", content=body, headers=headers)).status_code == 404
    assert await RawEvent.count() == 0


async def test_twenty_concurrent_redeliveries_store_one_message(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    body = telegram_update(6001, "same update, delivered twenty times")
    responses = await asyncio.gather(
        *(client.post(f"/webhooks/telegram/{channel.id}", content=body, headers=telegram_headers()) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {200}
    assert await RawEvent.count() == 1
    await drain(settings)
    again = await client.post(f"/webhooks/telegram/{channel.id}", content=body, headers=telegram_headers())
    assert again.status_code == 200
    await drain(settings)
    assert await Message.count() == 1
    assert await Contact.count() == 1


async def test_a_wechat_safe_mode_message_is_decrypted_and_recorded(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("wechat", WECHAT_CREDENTIALS)
    body, query = wechat_safe_delivery(wechat_text_xml("24000000001", "燕麦拿铁还有吗？"))
    response = await client.post(f"/webhooks/wechat/{channel.id}", content=body, params=query)
    assert response.status_code == 200 and response.text == "success"
    raw = await RawEvent.find_one({})
    assert raw is not None and raw.event_id == "24000000001"
    await drain(settings)
    message = await Message.find_one(Message.channel_id == channel.id)
    assert message is not None and message.text == "燕麦拿铁还有吗？"
    contact = await Contact.get(message.contact_id)
    assert contact is not None and contact.identities[0].external_id == "oUser_wang_0001"
    headers = await api_headers(channel.workspace_id)
    listed = (await client.get("/api/v1/conversations", params={"channel_id": str(channel.id)}, headers=headers)).json()
    assert [c["id"] for c in listed["items"]] == [str(message.conversation_id)]
    found = (await client.get(f"/api/v1/contacts/{contact.id}", headers=headers)).json()
    assert found["identities"][0]["external_id"] == "oUser_wang_0001"


async def test_a_tampered_wechat_body_is_refused(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("wechat", WECHAT_CREDENTIALS)
    body, query = wechat_safe_delivery(wechat_text_xml("24000000002", "hi"))
    tampered = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A")
    response = await client.post(f"/webhooks/wechat/{channel.id}", content=tampered, params=query)
    assert response.status_code == 401
    assert await RawEvent.count() == 0


async def test_the_wechat_handshake_echoes_only_for_the_right_token(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("wechat", WECHAT_CREDENTIALS)
    _, query = wechat_safe_delivery("<xml/>")
    good = {k: query[k] for k in ("timestamp", "nonce", "signature")} | {"echostr": "4815162342"}
    response = await client.get(f"/webhooks/wechat/{channel.id}", params=good)
    assert response.status_code == 200 and response.text == "4815162342"
    bad = await client.get(f"/webhooks/wechat/{channel.id}", params=good | {"signature": "0" * 40})
    assert bad.status_code == 401


async def test_a_verified_body_that_cannot_be_parsed_is_kept_as_failed(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    response = await client.post(f"/webhooks/telegram/{channel.id}", content=b"{not json", headers=telegram_headers())
    assert response.status_code == 200
    await drain(settings)
    failed = await RawEvent.find_one(RawEvent.status == RawEventStatus.FAILED)
    assert failed is not None
    assert failed.body == b"{not json" and "Cannot parse" in failed.error
    assert failed.event_id.startswith("sha256:")


async def test_oversized_bodies_are_refused(client: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    huge = b"{" + b" " * (settings.max_webhook_body + 10) + b"}"
    response = await client.post(f"/webhooks/telegram/{channel.id}", content=huge, headers=telegram_headers())
    assert response.status_code == 413
    assert await RawEvent.count() == 0

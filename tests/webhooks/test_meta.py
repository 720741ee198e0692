"""Meta through the real ingress: the subscription check, signed deliveries, and what the pipeline makes of them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrm.db import Database
from scrm.models import Comment, Contact, Conversation, Direction, Message, Post, RawEvent, RawEventStatus
from scrm.settings import Settings
from tests import platform_fakes as fakes
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import META_CREDENTIALS, make_channel, meta_headers

FIXTURES = Path(__file__).parents[1] / "connectors" / "meta" / "fixtures"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "platforms" / "samples"
PSID = "1254459154682919"
FIRST_MID = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
# The documented verification request (meta.md a, graph-api/webhooks/getting-started)
SUBSCRIBE = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock"}


def at(hour: int, minute: int, second: int) -> datetime:
    """A moment on the day of the published Messenger samples (2016-03-22, UTC)."""
    return datetime(2016, 3, 22, hour, minute, second, tzinfo=UTC)


def messenger_item(sample: str) -> bytes:
    """A published Messenger event item from the person of our fixtures, in the envelope the docs leave out."""
    item: dict[str, Any] = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    item["sender"]["id"], item["recipient"]["id"] = PSID, META_CREDENTIALS["page_id"]
    entry = {"id": META_CREDENTIALS["page_id"], "time": 1458668856463, "messaging": [item]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def fixture(name: str) -> bytes:
    """A Meta notification body from the connector's documentation-shaped fixtures, byte for byte."""
    return (FIXTURES / name).read_bytes()


async def post(client: httpx.AsyncClient, channel: fakes.TestChannel, body: bytes) -> httpx.Response:
    """Deliver a body signed with the channel's app secret, as Meta does."""
    return await client.post(f"/webhooks/meta/{channel.id}", content=body, headers=meta_headers(body))


async def outbound(reply_to: Message, external_id: str, sent_at: datetime) -> Message:
    """A message we sent in the same conversation, as the outbox records it after Meta accepted it."""
    return await Message(
        workspace_id=reply_to.workspace_id,
        channel_id=reply_to.channel_id,
        conversation_id=reply_to.conversation_id,
        contact_id=reply_to.contact_id,
        platform="meta",
        external_id=external_id,
        direction=Direction.OUTBOUND,
        text="Yes, in blue and green.",
        sent_at=sent_at,
        delivery_status="sent",
    ).insert()


async def test_the_subscription_check_echoes_the_challenge_for_the_right_token(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    response = await client.get(f"/webhooks/meta/{channel.id}", params=SUBSCRIBE)
    assert response.status_code == 200
    assert response.text == "1158201444" and response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        SUBSCRIBE | {"hub.verify_token": "meatyhamhocks"},
        SUBSCRIBE | {"hub.mode": "unsubscribe"},
        {k: v for k, v in SUBSCRIBE.items() if k != "hub.verify_token"},
    ],
    ids=["wrong-token", "wrong-mode", "no-token"],
)
async def test_the_subscription_check_is_refused_otherwise(
    client: httpx.AsyncClient, database: Database, query: dict[str, str]
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    response = await client.get(f"/webhooks/meta/{channel.id}", params=query)
    assert response.status_code == 403
    assert "1158201444" not in response.text


async def test_a_channel_without_a_verify_token_accepts_no_subscription(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("meta", {"app_secret": META_CREDENTIALS["app_secret"]})
    response = await client.get(f"/webhooks/meta/{channel.id}", params=SUBSCRIBE | {"hub.verify_token": ""})
    assert response.status_code == 403


async def test_a_signed_notification_is_stored_once_however_often_meta_retries(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    body = fixture("messenger_message.json")
    first = await post(client, channel, body)
    assert first.status_code == 200 and first.text == "EVENT_RECEIVED"
    again = await post(client, channel, body)
    assert again.status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id == hashlib.sha256(body).hexdigest()
    assert raw.platform == "meta" and raw.channel_id == channel.id and raw.body == body
    assert raw.status == RawEventStatus.PENDING
    assert raw.headers["x-hub-signature-256"] == meta_headers(body)["x-hub-signature-256"]


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "other-secret", "no-prefix", "no-header"],
)
async def test_a_tampered_delivery_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, tamper: str
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    body = fixture("messenger_message.json")
    headers = meta_headers(body)
    signature = headers["x-hub-signature-256"]
    if tamper == "body":
        body = body.replace(b"Lyon", b"Lille")
    elif tamper == "signature":
        headers["x-hub-signature-256"] = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    elif tamper == "other-secret":
        headers = meta_headers(body, "another-app-secret")
    elif tamper == "no-prefix":
        headers["x-hub-signature-256"] = signature.removeprefix("sha256=")
    else:
        del headers["x-hub-signature-256"]
    response = await client.post(f"/webhooks/meta/{channel.id}", content=body, headers=headers)
    assert response.status_code == 401
    assert await RawEvent.count() == 0


async def test_a_messenger_message_and_a_page_comment_by_the_same_person_land_on_one_contact(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    assert (await post(client, channel, fixture("page_feed_post_add.json"))).status_code == 200
    assert await drain(settings) == 1
    for name in ("messenger_message.json", "page_feed_comment_add.json"):
        assert (await post(client, channel, fixture(name))).status_code == 200
    assert await drain(settings) == 2

    [contact] = await Contact.find_all().to_list()
    assert [identity.key for identity in contact.identities] == [f"meta:facebook:{PSID}"]
    message = await Message.find_one(Message.channel_id == channel.id)
    assert message is not None and message.text == "Hi! Do you ship to Lyon?"
    assert message.direction == Direction.INBOUND and message.contact_id == contact.id
    conversation = await Conversation.get(message.conversation_id)
    assert conversation is not None and conversation.contact_id == contact.id
    assert conversation.external_id == f"facebook:{PSID}"
    [page_post] = await Post.find_all().to_list()
    assert page_post.external_id == "facebook:682498171943165_1043729461213123"
    assert page_post.text == "New colours are in!"
    [comment] = await Comment.find_all().to_list()
    assert comment.text == "How much is the blue one?" and comment.contact_id == contact.id
    assert comment.post_id == page_post.id
    assert await RawEvent.find(RawEvent.status == RawEventStatus.PROCESSED).count() == 3


@pytest.mark.parametrize(
    "drains",
    [("page_feed_post_add.json", "page_feed_comment_add.json"), ("page_feed_comment_add.json",), ()],
    ids=["post-then-comment-together", "comment-before-post", "post-before-comment"],
)
async def test_a_page_comment_is_linked_to_its_post_whatever_the_order(
    client: httpx.AsyncClient, database: Database, settings: Settings, drains: tuple[str, ...]
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    first = drains or ("page_feed_post_add.json",)
    for name in first:
        assert (await post(client, channel, fixture(name))).status_code == 200
    await drain(settings)
    for name in {"page_feed_post_add.json", "page_feed_comment_add.json"} - set(first):
        assert (await post(client, channel, fixture(name))).status_code == 200
    await drain(settings)
    [page_post] = await Post.find_all().to_list()
    [comment] = await Comment.find_all().to_list()
    assert comment.post_id == page_post.id


async def test_a_whatsapp_message_then_its_status_reports_mark_our_replies(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    assert (await post(client, channel, fixture("whatsapp_text.json"))).status_code == 200
    await drain(settings)
    inbound = await Message.find_one(Message.direction == Direction.INBOUND)
    assert inbound is not None and inbound.text == "Does it come in another color?"
    contact = await Contact.get(inbound.contact_id)
    assert contact is not None and contact.name == "Sheena Nelson"
    assert contact.identities[0].key == "meta:whatsapp:16505551234"

    sent_at = datetime(2026, 1, 1, 8, 59, tzinfo=UTC)
    read = await outbound(inbound, "whatsapp:wamid.SENT1", sent_at)
    failed = await outbound(inbound, "whatsapp:wamid.SENT2", sent_at)
    assert (await post(client, channel, fixture("whatsapp_statuses.json"))).status_code == 200
    await drain(settings)

    assert await _status(read) == ("read", None)
    status, error = await _status(failed)
    assert status == "failed" and error is not None and "131047" in error
    assert await Message.count() == 3  # reports add no messages
    assert await Contact.count() == 1


async def test_messenger_delivery_and_read_reports_mark_our_replies(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    assert (await post(client, channel, fixture("messenger_message.json"))).status_code == 200
    await drain(settings)
    inbound = await Message.find_one(Message.direction == Direction.INBOUND)
    assert inbound is not None
    # the published samples' watermark is 1458668856253 ms (2016-03-22 17:47:36.253 UTC)
    listed = await outbound(inbound, "facebook:mid.1458668856218:ed81099e15d3f4f233", at(17, 47, 36))
    later = await outbound(inbound, "facebook:m_after_the_watermark", at(17, 48, 0))
    assert (
        await post(client, channel, messenger_item("meta_messenger_message_deliveries_item.json"))
    ).status_code == 200
    await drain(settings)
    assert (await _status(listed), await _status(later)) == (("delivered", None), ("sent", None))
    assert (await post(client, channel, messenger_item("meta_messenger_message_reads_item.json"))).status_code == 200
    await drain(settings)
    assert (await _status(listed), await _status(later)) == (("read", None), ("sent", None))


async def test_a_read_watermark_marks_only_the_readers_conversation(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    other = fixture("messenger_message.json").replace(PSID.encode(), b"9990001112223334").replace(b"m_AG5", b"m_ZZ9")
    for body in (fixture("messenger_message.json"), other):
        assert (await post(client, channel, body)).status_code == 200
    await drain(settings)
    [reader, bystander] = sorted(
        await Message.find(Message.direction == Direction.INBOUND).to_list(),
        key=lambda m: m.external_id != f"facebook:{FIRST_MID}",
    )
    to_reader = await outbound(reader, "facebook:m_to_reader", at(17, 47, 0))
    to_bystander = await outbound(bystander, "facebook:m_to_bystander", at(17, 47, 0))
    assert (await post(client, channel, messenger_item("meta_messenger_message_reads_item.json"))).status_code == 200
    await drain(settings)
    assert await _status(to_reader) == ("read", None)
    assert await _status(to_bystander) == ("sent", None)


async def test_an_instagram_comment_is_recorded_under_its_author(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    assert (await post(client, channel, fixture("instagram_comment.json"))).status_code == 200
    await drain(settings)
    [comment] = await Comment.find_all().to_list()
    assert comment.text == "Love it! Price?" and comment.platform == "meta"
    assert comment.external_id == "instagram:17865799348089039"
    assert comment.post_external_id == "instagram:17887498072083520"
    assert comment.parent_external_id == "instagram:17865799348089000"
    contact = await Contact.get(comment.contact_id)
    assert contact is not None and contact.identities[0].key == "meta:instagram:17841401234567890"
    assert contact.identities[0].username == "camille.m"


async def test_a_signed_body_meta_cannot_have_meant_is_kept_as_failed(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("meta", META_CREDENTIALS)
    assert (await post(client, channel, b"test")).status_code == 200
    await drain(settings)
    failed = await RawEvent.find_one(RawEvent.status == RawEventStatus.FAILED)
    assert failed is not None and failed.body == b"test" and "Cannot parse" in failed.error


async def _status(message: Message) -> tuple[str | None, str | None]:
    """The delivery status stored on a sent message, and the error a failure report gave."""
    stored = await Message.get_pymongo_collection().find_one({"_id": message.id})
    assert stored is not None
    return stored.get("delivery_status"), stored.get("delivery_error")

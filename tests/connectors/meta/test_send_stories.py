"""Meta send stories: a signed delivery in, a reply through the API and the outbox, one well-formed send at the
Graph API, its delivery status back through a signed status webhook, all of it visible through the API.

Only the Graph API is faked (``graph_server``, from meta.md c); the ingress, the pipeline, MongoDB, the API,
the outbox and delivery are the product's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from scrm.db import Database
from scrm.delivery import deliver_due
from scrm.models import OutboundMessage, OutboundStatus
from scrm.settings import Settings
from tests.connectors.meta.graph_server import GraphServer
from tests.connectors.meta.stories import (
    CAMILLE,
    CREDENTIALS,
    NOOR,
    PHONE_NUMBER_ID,
    SHEENA,
    deliver,
    delivered,
    feed_comment,
    graph_server,
    instagram_comment,
    message_in,
    read,
    whatsapp_status,
    whatsapp_text,
)
from tests.delivery_fixtures import delivery
from tests.platform_fakes import TestChannel as StoredChannel
from tests.platform_fakes import api_headers, make_channel

POST_ID = "682498171943165_1043729461213123"
COMMENT_ID = "1043729461213123_1210571430446072"


@pytest.fixture
def start() -> datetime:
    """The story's present: the API and delivery run on the real clock, so deliveries are dated from it."""
    return datetime.now(UTC)


@pytest.fixture
def graph(start: datetime) -> Iterator[GraphServer]:
    """The Graph API's side of HTTP; any call elsewhere fails the test."""
    server = graph_server(start)
    with respx.mock(assert_all_called=False) as router:
        server.mount(router)
        yield server


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("meta", CREDENTIALS)


@pytest.fixture
async def headers(channel: StoredChannel) -> dict[str, str]:
    return await api_headers(channel.workspace_id)


async def send_queued(http: httpx.AsyncClient) -> int:
    """One delivery round, as the worker runs it."""
    now = datetime.now(UTC)
    return await deliver_due(delivery(http, now), now)


async def only_conversation(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    listed = (await client.get("/api/v1/conversations", headers=headers)).json()
    [conversation] = listed["items"]
    return dict(conversation)


async def thread(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str) -> list[dict[str, Any]]:
    """A conversation's messages through the API, oldest first."""
    found = await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    return list(reversed(found.json()["items"]))


async def reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str, key: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/replies", json={"idempotency_key": key, **body}, headers=headers
    )


async def test_a_messenger_reply_inside_24_hours_goes_out_once_and_comes_back_delivered_then_read(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    await deliver(client, channel.id, message_in("page", CAMILLE[0], "m_in_1", "Do you ship to Lyon?", start), settings)
    conversation = await only_conversation(client, headers)
    first = await reply(client, headers, conversation["id"], "reply-lyon-0001", text="Yes, in 2 days.")
    again = await reply(client, headers, conversation["id"], "reply-lyon-0001", text="Yes, in 2 days.")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]

    assert await send_queued(http) == 1
    assert await send_queued(http) == 0
    [sent] = graph.sends
    assert (sent.path, sent.token) == ("/me/messages", "PAGE-TOKEN-1")
    assert sent.body == {
        "recipient": {"id": CAMILLE[0]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, in 2 days."},
    }
    ours = (await thread(client, headers, conversation["id"]))[-1]
    assert (ours["direction"], ours["external_id"], ours["delivery_status"]) == (
        "outbound",
        f"facebook:{sent.id}",
        "sent",
    )

    await deliver(client, channel.id, delivered(CAMILLE[0], [sent.id], datetime.now(UTC)), settings)
    assert (await thread(client, headers, conversation["id"]))[-1]["delivery_status"] == "delivered"
    later = datetime.now(UTC) + timedelta(seconds=5)
    await deliver(client, channel.id, read(CAMILLE[0], later), settings)
    listed = (await client.get("/api/v1/messages", params={"channel_id": str(channel.id)}, headers=headers)).json()
    assert [(m["direction"], m["delivery_status"]) for m in listed["items"]] == [
        ("outbound", "read"),
        ("inbound", None),
    ]


async def test_after_24_hours_messenger_needs_the_human_agent_tag_and_after_7_days_refuses_with_the_reason(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    body = message_in("page", CAMILLE[0], "m_in_2", "Still there?", start - timedelta(hours=30))
    await deliver(client, channel.id, body, settings)
    conversation = await only_conversation(client, headers)

    plain = await reply(client, headers, conversation["id"], "late-plain-01", text="Sorry for the wait!")
    assert plain.status_code == 422
    assert "24-hour messaging window" in plain.json()["detail"] and "HUMAN_AGENT" in plain.json()["detail"]
    tagged = await reply(client, headers, conversation["id"], "late-tagged-01", text="Sorry!", tag="HUMAN_AGENT")
    assert tagged.status_code == 201
    assert (await reply(client, headers, conversation["id"], "bad-tag-0001", text="x", tag="PROMO")).status_code == 400
    await send_queued(http)
    [sent] = graph.sends
    assert sent.body == {
        "recipient": {"id": CAMILLE[0]},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Sorry!"},
    }
    assert (await thread(client, headers, conversation["id"]))[-1]["external_id"] == f"facebook:{sent.id}"

    week_old = message_in("page", "2220000000000001", "m_in_3", "Hello?", start - timedelta(days=8))
    await deliver(client, channel.id, week_old, settings)
    listed = (await client.get("/api/v1/conversations", headers=headers)).json()["items"]
    [old] = [c for c in listed if c["id"] != conversation["id"]]
    refused = await reply(client, headers, old["id"], "too-late-0001", text="Hi!", tag="HUMAN_AGENT")
    assert refused.status_code == 422 and "7-day human-agent window" in refused.json()["detail"]
    assert "8 days ago" in refused.json()["detail"]
    await send_queued(http)
    assert len(graph.sends) == 1


async def test_an_instagram_direct_message_is_answered_through_the_send_api(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    body = message_in("instagram", NOOR[0], "aWdfZAG1faXRlbTox", "Is the bag still available?", start)
    await deliver(client, channel.id, body, settings)
    conversation = await only_conversation(client, headers)
    assert conversation["platform"] == "meta"
    assert (await reply(client, headers, conversation["id"], "ig-reply-0001", text="Yes, in black.")).status_code == 201
    await send_queued(http)
    [sent] = graph.sends
    assert (sent.path, sent.token) == ("/me/messages", "PAGE-TOKEN-1")
    assert sent.body == {
        "recipient": {"id": NOOR[0]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, in black."},
    }
    messages = await thread(client, headers, conversation["id"])
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("inbound", "Is the bag still available?"),
        ("outbound", "Yes, in black."),
    ]
    assert messages[-1]["external_id"] == f"instagram:{sent.id}"


async def test_a_page_comment_gets_one_public_reply_and_one_private_reply_in_the_authors_conversation(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    hello = message_in("page", CAMILLE[0], "m_in_4", "Hello", start - timedelta(days=3))
    await deliver(client, channel.id, hello, settings)
    comment = feed_comment(COMMENT_ID, POST_ID, CAMILLE, "How much is the blue one?", start - timedelta(hours=1))
    await deliver(client, channel.id, comment, settings)
    graph.comment_times[COMMENT_ID] = start - timedelta(hours=1)
    [found] = (await client.get("/api/v1/comments", headers=headers)).json()["items"]
    assert (found["external_id"], found["text"]) == (f"facebook:{COMMENT_ID}", "How much is the blue one?")

    url = f"/api/v1/comments/{found['id']}"
    public = await client.post(
        f"{url}/reply", json={"text": "It is 49 EUR.", "idempotency_key": "pub-0001"}, headers=headers
    )
    assert public.status_code == 201 and public.json()["kind"] == "comment"
    private = {"text": "I sent you the size guide.", "idempotency_key": "priv-0001"}
    first = await client.post(f"{url}/private-reply", json=private, headers=headers)
    assert first.status_code == 201 and first.json()["kind"] == "private_reply"
    again = await client.post(f"{url}/private-reply", json=private, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    second = await client.post(
        f"{url}/private-reply", json={**private, "idempotency_key": "priv-0002"}, headers=headers
    )
    assert second.status_code == 409 and "one per comment" in second.json()["detail"]

    assert await send_queued(http) == 2
    by_path = {sent.path: sent for sent in graph.sends}
    assert len(graph.sends) == 2
    assert by_path[f"/{COMMENT_ID}/comments"].body == {"message": "It is 49 EUR."}
    assert by_path["/me/messages"].body == {
        "recipient": {"comment_id": COMMENT_ID},
        "message": {"text": "I sent you the size guide."},
    }
    shown = await client.post(
        f"{url}/reply", json={"text": "It is 49 EUR.", "idempotency_key": "pub-0001"}, headers=headers
    )
    public_id = by_path[f"/{COMMENT_ID}/comments"].id
    assert (shown.json()["status"], shown.json()["external_id"]) == ("sent", f"facebook:{public_id}")
    conversation = await only_conversation(client, headers)
    texts = [(m["direction"], m["text"]) for m in await thread(client, headers, conversation["id"])]
    assert texts == [("inbound", "Hello"), ("outbound", "I sent you the size guide.")]  # not the public reply
    thread_of_comments = (await client.get("/api/v1/comments", headers=headers)).json()["items"]
    [ours] = [c for c in thread_of_comments if c["from_us"]]
    assert (ours["external_id"], ours["text"], ours["parent_external_id"], ours["contact_id"]) == (
        f"facebook:{public_id}",
        "It is 49 EUR.",
        f"facebook:{COMMENT_ID}",
        found["contact_id"],
    )
    assert ours["post_id"] == found["post_id"] and len(thread_of_comments) == 2
    timeline = (await client.get(f"/api/v1/contacts/{found['contact_id']}/timeline", headers=headers)).json()
    kinds = [(item["kind"], item["text"]) for item in timeline["items"]]
    assert ("comment_reply", "It is 49 EUR.") in kinds and ("comment", "How much is the blue one?") in kinds


async def test_an_instagram_comment_is_answered_under_it_with_replies(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    body = instagram_comment("17865799348089039", "17887498072083520", NOOR, "Love it! Price?", start)
    await deliver(client, channel.id, body, settings)
    [found] = (await client.get("/api/v1/comments", headers=headers)).json()["items"]
    answer = {"text": "29 EUR, link in bio", "idempotency_key": "ig-pub-0001"}
    assert (await client.post(f"/api/v1/comments/{found['id']}/reply", json=answer, headers=headers)).status_code == 201
    await send_queued(http)
    [sent] = graph.sends
    assert (sent.path, sent.body, sent.token) == (
        "/17865799348089039/replies",
        {"message": "29 EUR, link in bio"},
        "PAGE-TOKEN-1",
    )


async def test_a_private_reply_after_seven_days_is_refused_before_any_call(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    start: datetime,
) -> None:
    old = feed_comment(COMMENT_ID, POST_ID, CAMILLE, "Any news?", start - timedelta(days=8))
    await deliver(client, channel.id, old, settings)
    [found] = (await client.get("/api/v1/comments", headers=headers)).json()["items"]
    refused = await client.post(
        f"/api/v1/comments/{found['id']}/private-reply",
        json={"text": "Hi", "idempotency_key": "late-priv-01"},
        headers=headers,
    )
    assert refused.status_code == 422 and "within 7 days" in refused.json()["detail"]
    assert await OutboundMessage.count() == 0 and graph.sends == []
    missing = await client.post(
        "/api/v1/comments/000000000000000000000000/reply",
        json={"text": "Hi", "idempotency_key": "nobody-0001"},
        headers=headers,
    )
    assert missing.status_code == 404


async def test_a_whatsapp_text_inside_24_hours_is_sent_and_its_statuses_come_back_sent_delivered_read(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    body = whatsapp_text(SHEENA, "wamid.IN1", "Does it come in another color?", start - timedelta(hours=1))
    await deliver(client, channel.id, body, settings)
    conversation = await only_conversation(client, headers)
    tagged = await reply(client, headers, conversation["id"], "wa-tagged-01", text="x", tag="HUMAN_AGENT")
    assert tagged.status_code == 400 and "Messenger, Instagram only" in tagged.json()["detail"]
    assert (await reply(client, headers, conversation["id"], "wa-reply-0001", text="Yes: red.")).status_code == 201
    await send_queued(http)
    [sent] = graph.sends
    assert (sent.path, sent.token) == (f"/{PHONE_NUMBER_ID}/messages", "WA-TOKEN-1")
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": SHEENA[0],
        "type": "text",
        "text": {"body": "Yes: red.", "preview_url": False},
    }
    for status in ("sent", "delivered", "read"):
        await deliver(client, channel.id, whatsapp_status(sent.id, status, datetime.now(UTC)), settings)
        ours = (await thread(client, headers, conversation["id"]))[-1]
        assert (ours["external_id"], ours["delivery_status"]) == (f"whatsapp:{sent.id}", status)
    await deliver(client, channel.id, whatsapp_status(sent.id, "delivered", datetime.now(UTC)), settings)
    assert (await thread(client, headers, conversation["id"]))[-1]["delivery_status"] == "read"  # never backwards


async def test_after_24_hours_whatsapp_takes_only_an_approved_template_listed_from_meta(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    graph.add_template("order_update", "en_US", "Hi {{1}}, your order {{2}} has shipped.")
    graph.add_template("order_update", "zh_CN", "{{1}}您好，您的订单 {{2}} 已发货。")
    graph.add_template("spring_sale", "en_US", "Spring sale: 20% off!", status="REJECTED")
    for n in range(30):
        graph.add_template(f"filler_{n:02d}", "en_US", f"Filler {n}")
    body = whatsapp_text(SHEENA, "wamid.IN2", "Where is my order?", start - timedelta(hours=30))
    await deliver(client, channel.id, body, settings)
    conversation = await only_conversation(client, headers)

    plain = await reply(client, headers, conversation["id"], "wa-late-0001", text="It shipped!")
    assert plain.status_code == 422 and "only a template may go out" in plain.json()["detail"]
    listed = await client.get(f"/api/v1/channels/{channel.id}/templates", headers=headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert len(items) == 33  # two pages of 25 at most, followed through paging.next
    assert items[0] == {
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "body": "Hi {{1}}, your order {{2}} has shipped.",
        "parameters": 2,
    }
    await client.get(f"/api/v1/channels/{channel.id}/templates", headers=headers)
    listing = [r for r in graph.requests if r.url.path.endswith("/message_templates")]
    assert len(listing) == 2  # the second listing came from the cache

    def template(name: str, *parameters: str, language: str = "en_US") -> dict[str, Any]:
        return {"name": name, "language": language, "parameters": list(parameters)}

    wrong_count = await reply(
        client, headers, conversation["id"], "wa-tpl-0000", text="", template=template("order_update", "Sheena")
    )
    assert wrong_count.status_code == 400 and "takes 2 parameter(s), 1 given" in wrong_count.json()["detail"]
    rejected = await reply(
        client, headers, conversation["id"], "wa-tpl-0001", text="", template=template("spring_sale")
    )
    assert rejected.status_code == 400 and "no approved template 'spring_sale'" in rejected.json()["detail"]
    sent_reply = await reply(
        client,
        headers,
        conversation["id"],
        "wa-tpl-0002",
        text="",
        template=template("order_update", "Sheena", "A-1042"),
    )
    assert sent_reply.status_code == 201 and sent_reply.json()["text"] == "Hi Sheena, your order A-1042 has shipped."

    await send_queued(http)
    [sent] = graph.sends
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": SHEENA[0],
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "A-1042"}],
                },
            ],
        },
    }
    ours = (await thread(client, headers, conversation["id"]))[-1]
    assert (ours["text"], ours["delivery_status"]) == ("Hi Sheena, your order A-1042 has shipped.", "sent")
    failure = [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}]
    await deliver(client, channel.id, whatsapp_status(sent.id, "failed", datetime.now(UTC), failure), settings)
    assert (await thread(client, headers, conversation["id"]))[-1]["delivery_status"] == "failed"


async def test_templates_of_a_channel_without_a_whatsapp_account_are_a_clear_422(
    client: httpx.AsyncClient, graph: GraphServer, database: Database
) -> None:
    page_only = await make_channel("meta", {k: v for k, v in CREDENTIALS.items() if not k.startswith("whatsapp")})
    headers = await api_headers(page_only.workspace_id)
    found = await client.get(f"/api/v1/channels/{page_only.id}/templates", headers=headers)
    assert found.status_code == 422 and "whatsapp_business_account_id" in found.json()["detail"]
    assert (await client.get("/api/v1/channels/000000000000000000000000/templates", headers=headers)).status_code == 404
    elsewhere = await make_channel("meta", CREDENTIALS, workspace="globex")
    assert (await client.get(f"/api/v1/channels/{elsewhere.id}/templates", headers=headers)).status_code == 404
    assert graph.requests == []  # nothing was asked of Meta for a channel out of reach


async def test_refusals_fail_with_a_reason_wait_for_the_throttle_or_hold_for_a_new_token(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    await deliver(client, channel.id, message_in("page", CAMILLE[0], "m_in_5", "Hi", start), settings)
    conversation = await only_conversation(client, headers)

    graph.unavailable.add(CAMILLE[0])  # 551: this person isn't available right now
    await reply(client, headers, conversation["id"], "unavail-0001", text="Hello?")
    await send_queued(http)
    failed = await OutboundMessage.find_one({"payload.text": "Hello?"})
    assert failed is not None and failed.status is OutboundStatus.FAILED
    assert "cannot receive messages from this channel" in failed.error and "isn't available" in failed.error
    graph.unavailable.clear()

    graph.refuse(4, message="(#4) Application request limit reached", path="/me/messages")
    await reply(client, headers, conversation["id"], "throttle-0001", text="Throttled")
    await send_queued(http)
    waiting = await OutboundMessage.find_one({"payload.text": "Throttled"})
    assert waiting is not None and waiting.status is OutboundStatus.QUEUED and "rate limited" in waiting.error
    assert waiting.not_before is not None and waiting.not_before.replace(tzinfo=UTC) > datetime.now(UTC)
    await OutboundMessage.get_pymongo_collection().delete_one({"_id": waiting.id})

    graph.tokens.discard("PAGE-TOKEN-1")  # the Page token expired (190/463)
    await reply(client, headers, conversation["id"], "expired-0001", text="After the token")
    await send_queued(http)
    held = await OutboundMessage.find_one({"payload.text": "After the token"})
    assert held is not None and held.status is OutboundStatus.QUEUED
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy" and "the access token expired" in shown["status_reason"]

    graph.tokens.add("PAGE-TOKEN-2")
    patch = {"credentials": {"page_access_token": "PAGE-TOKEN-2"}}
    assert (await client.patch(f"/api/v1/channels/{channel.id}", json=patch, headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()["status"] == "active"
    await send_queued(http)
    sent = [s for s in graph.sends if s.body["message"]["text"] == "After the token"]
    assert [s.token for s in sent] == ["PAGE-TOKEN-2"]
    assert (await thread(client, headers, conversation["id"]))[-1]["text"] == "After the token"


async def test_metas_own_refusals_name_the_window_or_the_missing_permission(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> None:
    body = whatsapp_text(SHEENA, "wamid.IN3", "Hello", start - timedelta(hours=23, minutes=59))
    await deliver(client, channel.id, body, settings)
    conversation = await only_conversation(client, headers)
    # Meta judges the window by its own clock: its 131047 fails the message with the window's name
    graph.refuse(131047, message="(#131047) Re-engagement message", path=f"/{PHONE_NUMBER_ID}/messages")
    await reply(client, headers, conversation["id"], "wa-edge-0001", text="Just in time?")
    await send_queued(http)
    failed = await OutboundMessage.find_one({"payload.text": "Just in time?"})
    assert failed is not None and failed.status is OutboundStatus.FAILED
    assert failed.error.startswith("outside WhatsApp's 24-hour customer-service window") and "131047" in failed.error

    graph.refuse(200, message="(#200) Requires whatsapp_business_messaging permission", path=f"/{PHONE_NUMBER_ID}")
    await reply(client, headers, conversation["id"], "wa-perm-0001", text="Permission?")
    await send_queued(http)
    held = await OutboundMessage.find_one({"payload.text": "Permission?"})
    assert held is not None and held.status is OutboundStatus.QUEUED
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy" and "permission the channel needs is missing (#200)" in shown["status_reason"]
    assert graph.sends == []

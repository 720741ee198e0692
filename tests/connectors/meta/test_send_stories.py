"""Meta send stories: a signed delivery in, a reply through the API and the outbox, one well-formed send at the
Graph API, its delivery status back through a signed status webhook, all of it visible through the API.

Only the Graph API is faked (``graph_server``, from meta.md c); the ingress, the pipeline, MongoDB, the API,
the outbox and delivery are the product's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scrm.db import Database
from scrm.models import OutboundMessage, OutboundStatus
from tests.connectors.meta.graph_server import GraphServer
from tests.connectors.meta.stories import (
    CAMILLE,
    CREDENTIALS,
    NOOR,
    PHONE_NUMBER_ID,
    SHEENA,
    Story,
    delivered,
    feed_comment,
    instagram_comment,
    message_in,
    read,
    whatsapp_status,
    whatsapp_text,
)
from tests.platform_fakes import api_headers, make_channel

POST_ID = "682498171943165_1043729461213123"
COMMENT_ID = "1043729461213123_1210571430446072"


async def test_a_messenger_reply_inside_24_hours_goes_out_once_and_comes_back_delivered_then_read(story: Story) -> None:
    await story.receive(message_in("page", CAMILLE[0], "m_in_1", "Do you ship to Lyon?", story.start))
    conversation = await story.only_conversation()
    first = await story.reply(conversation["id"], "reply-lyon-0001", text="Yes, in 2 days.")
    again = await story.reply(conversation["id"], "reply-lyon-0001", text="Yes, in 2 days.")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]

    assert await story.send_queued() == 1
    assert await story.send_queued() == 0
    [sent] = story.graph.sends
    assert (sent.path, sent.token) == ("/me/messages", "PAGE-TOKEN-1")
    assert sent.body == {
        "recipient": {"id": CAMILLE[0]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, in 2 days."},
    }
    ours = (await story.thread(conversation["id"]))[-1]
    assert (ours["direction"], ours["external_id"], ours["delivery_status"]) == (
        "outbound",
        f"facebook:{sent.id}",
        "sent",
    )

    await story.receive(delivered(CAMILLE[0], [sent.id], datetime.now(UTC)))
    assert (await story.thread(conversation["id"]))[-1]["delivery_status"] == "delivered"
    later = datetime.now(UTC) + timedelta(seconds=5)
    await story.receive(read(CAMILLE[0], later))
    listed = (await story.get("/api/v1/messages", channel_id=str(story.channel.id))).json()
    assert [(m["direction"], m["delivery_status"]) for m in listed["items"]] == [
        ("outbound", "read"),
        ("inbound", None),
    ]


async def test_after_24_hours_messenger_needs_the_human_agent_tag_and_after_7_days_refuses_with_the_reason(
    story: Story,
) -> None:
    body = message_in("page", CAMILLE[0], "m_in_2", "Still there?", story.start - timedelta(hours=30))
    await story.receive(body)
    conversation = await story.only_conversation()

    plain = await story.reply(conversation["id"], "late-plain-01", text="Sorry for the wait!")
    assert plain.status_code == 422
    assert "24-hour messaging window" in plain.json()["detail"] and "HUMAN_AGENT" in plain.json()["detail"]
    tagged = await story.reply(conversation["id"], "late-tagged-01", text="Sorry!", tag="HUMAN_AGENT")
    assert tagged.status_code == 201
    assert (await story.reply(conversation["id"], "bad-tag-0001", text="x", tag="PROMO")).status_code == 400
    await story.send_queued()
    [sent] = story.graph.sends
    assert sent.body == {
        "recipient": {"id": CAMILLE[0]},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Sorry!"},
    }
    assert (await story.thread(conversation["id"]))[-1]["external_id"] == f"facebook:{sent.id}"

    week_old = message_in("page", "2220000000000001", "m_in_3", "Hello?", story.start - timedelta(days=8))
    await story.receive(week_old)
    listed = (await story.get("/api/v1/conversations")).json()["items"]
    [old] = [c for c in listed if c["id"] != conversation["id"]]
    refused = await story.reply(old["id"], "too-late-0001", text="Hi!", tag="HUMAN_AGENT")
    assert refused.status_code == 422 and "7-day human-agent window" in refused.json()["detail"]
    assert "8 days ago" in refused.json()["detail"]
    await story.send_queued()
    assert len(story.graph.sends) == 1


async def test_an_instagram_direct_message_is_answered_through_the_send_api(story: Story) -> None:
    body = message_in("instagram", NOOR[0], "aWdfZAG1faXRlbTox", "Is the bag still available?", story.start)
    await story.receive(body)
    conversation = await story.only_conversation()
    assert conversation["platform"] == "meta"
    assert (await story.reply(conversation["id"], "ig-reply-0001", text="Yes, in black.")).status_code == 201
    await story.send_queued()
    [sent] = story.graph.sends
    assert (sent.path, sent.token) == ("/me/messages", "PAGE-TOKEN-1")
    assert sent.body == {
        "recipient": {"id": NOOR[0]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, in black."},
    }
    messages = await story.thread(conversation["id"])
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("inbound", "Is the bag still available?"),
        ("outbound", "Yes, in black."),
    ]
    assert messages[-1]["external_id"] == f"instagram:{sent.id}"


async def test_a_page_comment_gets_one_public_reply_and_one_private_reply_in_the_authors_conversation(
    story: Story,
) -> None:
    hello = message_in("page", CAMILLE[0], "m_in_4", "Hello", story.start - timedelta(days=3))
    await story.receive(hello)
    comment = feed_comment(COMMENT_ID, POST_ID, CAMILLE, "How much is the blue one?", story.start - timedelta(hours=1))
    await story.receive(comment)
    story.graph.comment_times[COMMENT_ID] = story.start - timedelta(hours=1)
    [found] = (await story.get("/api/v1/comments")).json()["items"]
    assert (found["external_id"], found["text"]) == (f"facebook:{COMMENT_ID}", "How much is the blue one?")

    url = f"/api/v1/comments/{found['id']}"
    public = await story.post(f"{url}/reply", {"text": "It is 49 EUR.", "idempotency_key": "pub-0001"})
    assert public.status_code == 201 and public.json()["kind"] == "comment"
    private = {"text": "I sent you the size guide.", "idempotency_key": "priv-0001"}
    first = await story.post(f"{url}/private-reply", private)
    assert first.status_code == 201 and first.json()["kind"] == "private_reply"
    again = await story.post(f"{url}/private-reply", private)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    second = await story.post(f"{url}/private-reply", {**private, "idempotency_key": "priv-0002"})
    assert second.status_code == 409 and "one per comment" in second.json()["detail"]

    assert await story.send_queued() == 2
    by_path = {sent.path: sent for sent in story.graph.sends}
    assert len(story.graph.sends) == 2
    assert by_path[f"/{COMMENT_ID}/comments"].body == {"message": "It is 49 EUR."}
    assert by_path["/me/messages"].body == {
        "recipient": {"comment_id": COMMENT_ID},
        "message": {"text": "I sent you the size guide."},
    }
    shown = await story.post(f"{url}/reply", {"text": "It is 49 EUR.", "idempotency_key": "pub-0001"})
    public_id = by_path[f"/{COMMENT_ID}/comments"].id
    assert (shown.json()["status"], shown.json()["external_id"]) == ("sent", f"facebook:{public_id}")
    conversation = await story.only_conversation()
    texts = [(m["direction"], m["text"]) for m in await story.thread(conversation["id"])]
    assert texts == [("inbound", "Hello"), ("outbound", "I sent you the size guide.")]  # not the public reply
    thread_of_comments = (await story.get("/api/v1/comments")).json()["items"]
    [ours] = [c for c in thread_of_comments if c["from_us"]]
    assert (ours["external_id"], ours["text"], ours["parent_external_id"], ours["contact_id"]) == (
        f"facebook:{public_id}",
        "It is 49 EUR.",
        f"facebook:{COMMENT_ID}",
        found["contact_id"],
    )
    assert ours["post_id"] == found["post_id"] and len(thread_of_comments) == 2
    timeline = (await story.get(f"/api/v1/contacts/{found['contact_id']}/timeline")).json()
    kinds = [(item["kind"], item["text"]) for item in timeline["items"]]
    assert ("comment_reply", "It is 49 EUR.") in kinds and ("comment", "How much is the blue one?") in kinds


async def test_an_instagram_comment_is_answered_under_it_with_replies(story: Story) -> None:
    body = instagram_comment("17865799348089039", "17887498072083520", NOOR, "Love it! Price?", story.start)
    await story.receive(body)
    [found] = (await story.get("/api/v1/comments")).json()["items"]
    answer = {"text": "29 EUR, link in bio", "idempotency_key": "ig-pub-0001"}
    assert (await story.post(f"/api/v1/comments/{found['id']}/reply", answer)).status_code == 201
    await story.send_queued()
    [sent] = story.graph.sends
    assert (sent.path, sent.body, sent.token) == (
        "/17865799348089039/replies",
        {"message": "29 EUR, link in bio"},
        "PAGE-TOKEN-1",
    )


async def test_a_private_reply_after_seven_days_is_refused_before_any_call(story: Story) -> None:
    old = feed_comment(COMMENT_ID, POST_ID, CAMILLE, "Any news?", story.start - timedelta(days=8))
    await story.receive(old)
    [found] = (await story.get("/api/v1/comments")).json()["items"]
    refused = await story.post(
        f"/api/v1/comments/{found['id']}/private-reply", {"text": "Hi", "idempotency_key": "late-priv-01"}
    )
    assert refused.status_code == 422 and "within 7 days" in refused.json()["detail"]
    assert await OutboundMessage.count() == 0 and story.graph.sends == []
    missing = await story.post(
        "/api/v1/comments/000000000000000000000000/reply", {"text": "Hi", "idempotency_key": "nobody-0001"}
    )
    assert missing.status_code == 404


async def test_a_whatsapp_text_inside_24_hours_is_sent_and_its_statuses_come_back_sent_delivered_read(
    story: Story,
) -> None:
    body = whatsapp_text(SHEENA, "wamid.IN1", "Does it come in another color?", story.start - timedelta(hours=1))
    await story.receive(body)
    conversation = await story.only_conversation()
    tagged = await story.reply(conversation["id"], "wa-tagged-01", text="x", tag="HUMAN_AGENT")
    assert tagged.status_code == 400 and "Messenger, Instagram only" in tagged.json()["detail"]
    assert (await story.reply(conversation["id"], "wa-reply-0001", text="Yes: red.")).status_code == 201
    await story.send_queued()
    [sent] = story.graph.sends
    assert (sent.path, sent.token) == (f"/{PHONE_NUMBER_ID}/messages", "WA-TOKEN-1")
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": SHEENA[0],
        "type": "text",
        "text": {"body": "Yes: red.", "preview_url": False},
    }
    for status in ("sent", "delivered", "read"):
        await story.receive(whatsapp_status(sent.id, status, datetime.now(UTC)))
        ours = (await story.thread(conversation["id"]))[-1]
        assert (ours["external_id"], ours["delivery_status"]) == (f"whatsapp:{sent.id}", status)
    await story.receive(whatsapp_status(sent.id, "delivered", datetime.now(UTC)))
    assert (await story.thread(conversation["id"]))[-1]["delivery_status"] == "read"  # never backwards


async def test_after_24_hours_whatsapp_takes_only_an_approved_template_listed_from_meta(story: Story) -> None:
    story.graph.add_template("order_update", "en_US", "Hi {{1}}, your order {{2}} has shipped.")
    story.graph.add_template("order_update", "zh_CN", "{{1}}您好，您的订单 {{2}} 已发货。")
    story.graph.add_template("spring_sale", "en_US", "Spring sale: 20% off!", status="REJECTED")
    for n in range(30):
        story.graph.add_template(f"filler_{n:02d}", "en_US", f"Filler {n}")
    body = whatsapp_text(SHEENA, "wamid.IN2", "Where is my order?", story.start - timedelta(hours=30))
    await story.receive(body)
    conversation = await story.only_conversation()

    plain = await story.reply(conversation["id"], "wa-late-0001", text="It shipped!")
    assert plain.status_code == 422 and "only a template may go out" in plain.json()["detail"]
    listed = await story.get(f"/api/v1/channels/{story.channel.id}/templates")
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
    await story.get(f"/api/v1/channels/{story.channel.id}/templates")
    listing = [r for r in story.graph.requests if r.url.path.endswith("/message_templates")]
    assert len(listing) == 2  # the second listing came from the cache

    def template(name: str, *parameters: str, language: str = "en_US") -> dict[str, Any]:
        return {"name": name, "language": language, "parameters": list(parameters)}

    wrong_count = await story.reply(
        conversation["id"], "wa-tpl-0000", text="", template=template("order_update", "Sheena")
    )
    assert wrong_count.status_code == 400 and "takes 2 parameter(s), 1 given" in wrong_count.json()["detail"]
    rejected = await story.reply(conversation["id"], "wa-tpl-0001", text="", template=template("spring_sale"))
    assert rejected.status_code == 400 and "no approved template 'spring_sale'" in rejected.json()["detail"]
    sent_reply = await story.reply(
        conversation["id"],
        "wa-tpl-0002",
        text="",
        template=template("order_update", "Sheena", "A-1042"),
    )
    assert sent_reply.status_code == 201 and sent_reply.json()["text"] == "Hi Sheena, your order A-1042 has shipped."

    await story.send_queued()
    [sent] = story.graph.sends
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
    ours = (await story.thread(conversation["id"]))[-1]
    assert (ours["text"], ours["delivery_status"]) == ("Hi Sheena, your order A-1042 has shipped.", "sent")
    failure = [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}]
    await story.receive(whatsapp_status(sent.id, "failed", datetime.now(UTC), failure))
    assert (await story.thread(conversation["id"]))[-1]["delivery_status"] == "failed"


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


async def test_refusals_fail_with_a_reason_wait_for_the_throttle_or_hold_for_a_new_token(story: Story) -> None:
    await story.receive(message_in("page", CAMILLE[0], "m_in_5", "Hi", story.start))
    conversation = await story.only_conversation()

    story.graph.unavailable.add(CAMILLE[0])  # 551: this person isn't available right now
    await story.reply(conversation["id"], "unavail-0001", text="Hello?")
    await story.send_queued()
    failed = await OutboundMessage.find_one({"payload.text": "Hello?"})
    assert failed is not None and failed.status is OutboundStatus.FAILED
    assert "cannot receive messages from this channel" in failed.error and "isn't available" in failed.error
    story.graph.unavailable.clear()

    story.graph.refuse(4, message="(#4) Application request limit reached", path="/me/messages")
    await story.reply(conversation["id"], "throttle-0001", text="Throttled")
    await story.send_queued()
    waiting = await OutboundMessage.find_one({"payload.text": "Throttled"})
    assert waiting is not None and waiting.status is OutboundStatus.QUEUED and "rate limited" in waiting.error
    assert waiting.not_before is not None and waiting.not_before.replace(tzinfo=UTC) > datetime.now(UTC)
    await OutboundMessage.get_pymongo_collection().delete_one({"_id": waiting.id})

    story.graph.tokens.discard("PAGE-TOKEN-1")  # the Page token expired (190/463)
    await story.reply(conversation["id"], "expired-0001", text="After the token")
    await story.send_queued()
    held = await OutboundMessage.find_one({"payload.text": "After the token"})
    assert held is not None and held.status is OutboundStatus.QUEUED
    shown = (await story.get(f"/api/v1/channels/{story.channel.id}")).json()
    assert shown["status"] == "unhealthy" and "the access token expired" in shown["status_reason"]

    story.graph.tokens.add("PAGE-TOKEN-2")
    patch = {"credentials": {"page_access_token": "PAGE-TOKEN-2"}}
    patched = await story.client.patch(f"/api/v1/channels/{story.channel.id}", json=patch, headers=story.headers)
    assert patched.status_code == 200
    assert (await story.get(f"/api/v1/channels/{story.channel.id}")).json()["status"] == "active"
    await story.send_queued()
    sent = [s for s in story.graph.sends if s.body["message"]["text"] == "After the token"]
    assert [s.token for s in sent] == ["PAGE-TOKEN-2"]
    assert (await story.thread(conversation["id"]))[-1]["text"] == "After the token"


async def test_metas_own_refusals_name_the_window_or_the_missing_permission(story: Story) -> None:
    body = whatsapp_text(SHEENA, "wamid.IN3", "Hello", story.start - timedelta(hours=23, minutes=59))
    await story.receive(body)
    conversation = await story.only_conversation()
    # Meta judges the window by its own clock: its 131047 fails the message with the window's name
    story.graph.refuse(131047, message="(#131047) Re-engagement message", path=f"/{PHONE_NUMBER_ID}/messages")
    await story.reply(conversation["id"], "wa-edge-0001", text="Just in time?")
    await story.send_queued()
    failed = await OutboundMessage.find_one({"payload.text": "Just in time?"})
    assert failed is not None and failed.status is OutboundStatus.FAILED
    assert failed.error.startswith("outside WhatsApp's 24-hour customer-service window") and "131047" in failed.error

    story.graph.refuse(
        200, message="(#200) Requires whatsapp_business_messaging permission", path=f"/{PHONE_NUMBER_ID}"
    )
    await story.reply(conversation["id"], "wa-perm-0001", text="Permission?")
    await story.send_queued()
    held = await OutboundMessage.find_one({"payload.text": "Permission?"})
    assert held is not None and held.status is OutboundStatus.QUEUED
    shown = (await story.get(f"/api/v1/channels/{story.channel.id}")).json()
    assert shown["status"] == "unhealthy" and "permission the channel needs is missing (#200)" in shown["status_reason"]
    assert story.graph.sends == []

"""Meta notifications of every product become the right items, in the right id space."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrm.connectors.items import (
    AttachmentKind,
    DeliveryState,
    Inbound,
    InboundComment,
    InboundEvent,
    InboundMessage,
    InboundPost,
    InboundStatus,
)
from scrm.connectors.meta import Meta, parse_body, parse_notification

from ..conftest import SAMPLES
from ..memory import InMemoryTokenStore

FIXTURES = Path(__file__).parent / "fixtures"
PSID = "facebook:1254459154682919"
POST = "facebook:682498171943165_1043729461213123"
COMMENT = "facebook:1043729461213123_1210571430446072"


def parsed(name: str) -> list[Inbound]:
    return parse_body((FIXTURES / name).read_bytes())


def only(name: str) -> Inbound:
    items = parsed(name)
    assert len(items) == 1, items
    return items[0]


def page_envelope(*events: dict[str, Any]) -> dict[str, Any]:
    """The outer wrapper the Messenger docs leave out of their event samples (meta.md a)."""
    return {"object": "page", "entry": [{"id": "<PAGE_ID>", "time": 1458668856463, "messaging": list(events)}]}


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def test_messenger_message_carries_psid_conversation_time_and_quoted_message() -> None:
    item = only("messenger_message.json")
    assert isinstance(item, InboundMessage)
    assert item.platform == "meta"
    assert item.external_id.startswith("facebook:m_AG5Hz2Uq7tuwNEhX")
    assert item.conversation_id == PSID
    assert item.sender.platform_user_id == PSID
    assert item.text == "Hi! Do you ship to Lyon?"
    assert item.at == datetime(2026, 1, 1, 9, 0, 0, 123000, tzinfo=UTC)
    assert item.reply_to_id == "facebook:m_1457764197618:41d102a3e1ae206a38"


def test_echo_of_our_own_message_is_not_ingested() -> None:
    assert parsed("messenger_message_echo.json") == []


def test_postback_is_an_event_keyed_by_its_payload() -> None:
    item = only("messenger_postback.json")
    assert isinstance(item, InboundEvent)
    assert (item.kind, item.key, item.external_id) == ("postback", "HUMAN_HANDOFF", "facebook:m_postback_1")
    assert item.sender.platform_user_id == PSID
    assert item.conversation_id == PSID


def test_messenger_delivery_sample_gives_one_status_per_mid() -> None:
    item = parse_notification(page_envelope(sample("meta_messenger_message_deliveries_item.json")))
    assert len(item) == 1
    status = item[0]
    assert isinstance(status, InboundStatus)
    assert status.state is DeliveryState.DELIVERED
    assert status.message_id == "facebook:mid.1458668856218:ed81099e15d3f4f233"
    assert status.watermark == datetime(2016, 3, 22, 17, 47, 36, 253000, tzinfo=UTC)
    assert status.sender.platform_user_id == "facebook:<PSID>"


def test_messenger_read_sample_is_a_watermark_status() -> None:
    (status,) = parse_notification(page_envelope(sample("meta_messenger_message_reads_item.json")))
    assert isinstance(status, InboundStatus)
    assert status.state is DeliveryState.READ
    assert status.message_id == ""
    assert status.watermark == datetime(2016, 3, 22, 17, 47, 36, 253000, tzinfo=UTC)
    assert status.at == datetime(2016, 3, 22, 17, 47, 36, 463000, tzinfo=UTC)


def test_message_reaction_is_an_event() -> None:
    item = only("messenger_reaction.json")
    assert isinstance(item, InboundEvent)
    assert (item.kind, item.key) == ("reaction", "love")


def test_page_comment_is_by_the_same_person_as_the_messenger_sender() -> None:
    comment = only("page_feed_comment_add.json")
    message = only("messenger_message.json")
    assert isinstance(comment, InboundComment) and isinstance(message, InboundMessage)
    assert comment.sender.platform_user_id == message.sender.platform_user_id == PSID
    assert comment.sender.display_name == "Camille Martin"
    assert (comment.external_id, comment.post_id, comment.parent_id) == (COMMENT, POST, "")
    assert comment.text == "How much is the blue one?"
    assert comment.at == datetime(2026, 1, 1, 9, 4, tzinfo=UTC)
    assert comment.edited_at is None


def test_reply_names_its_parent_comment_and_the_pages_own_reply_is_skipped() -> None:
    (reply,) = parsed("page_feed_reply_add.json")
    assert isinstance(reply, InboundComment)
    assert reply.parent_id == COMMENT
    assert reply.external_id == "facebook:1043729461213123_1210571430446099"


def test_edited_comment_keeps_its_id_and_sets_edited_at() -> None:
    edited = only("page_feed_comment_edited.json")
    assert isinstance(edited, InboundComment)
    assert edited.external_id == COMMENT
    assert edited.text == "How much is the blue one, with shipping?"
    assert edited.edited_at == datetime(2026, 1, 1, 9, 6, tzinfo=UTC)


def test_removed_comment_is_an_event_naming_the_comment() -> None:
    removed = only("page_feed_comment_remove.json")
    assert isinstance(removed, InboundEvent)
    assert (removed.kind, removed.key) == ("comment_removed", COMMENT)


def test_reaction_on_a_post_is_an_event_by_the_reacting_person() -> None:
    reaction = only("page_feed_reaction.json")
    assert isinstance(reaction, InboundEvent)
    assert (reaction.kind, reaction.key, reaction.sender.platform_user_id) == ("reaction", "love", PSID)


def test_page_post_is_a_post() -> None:
    post = only("page_feed_post_add.json")
    assert isinstance(post, InboundPost)
    assert (post.external_id, post.text) == (POST, "New colours are in!")
    assert post.author.platform_user_id == "facebook:682498171943165"


def test_instagram_message_is_in_the_instagram_space() -> None:
    item = only("instagram_message.json")
    assert isinstance(item, InboundMessage)
    assert item.sender.platform_user_id == item.conversation_id == "instagram:1914016168758395"
    assert item.external_id.startswith("instagram:aWdf")
    assert item.text == "Is the bag still available?"


def test_instagram_comment_names_media_parent_and_username() -> None:
    item = only("instagram_comment.json")
    assert isinstance(item, InboundComment)
    assert item.external_id == "instagram:17865799348089039"
    assert item.post_id == "instagram:17887498072083520"
    assert item.parent_id == "instagram:17865799348089000"
    assert item.sender.platform_user_id == "instagram:17841401234567890"
    assert item.sender.username == "camille.m"
    assert item.at == datetime.fromtimestamp(1767258600, UTC)  # the value has no time: the entry's


def test_whatsapp_text_from_the_documented_example() -> None:
    item = only("whatsapp_text.json")
    assert isinstance(item, InboundMessage)
    assert item.external_id == "whatsapp:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert item.conversation_id == item.sender.platform_user_id == "whatsapp:16505551234"
    assert item.sender.display_name == "Sheena Nelson"
    assert item.text == "Does it come in another color?"
    assert item.at == datetime.fromtimestamp(1749416383, UTC)


def test_whatsapp_statuses_become_one_status_each() -> None:
    statuses = parsed("whatsapp_statuses.json")
    assert all(isinstance(s, InboundStatus) for s in statuses)
    states = [(s.state, s.message_id) for s in statuses if isinstance(s, InboundStatus)]
    assert states == [
        (DeliveryState.SENT, "whatsapp:wamid.SENT1"),
        (DeliveryState.DELIVERED, "whatsapp:wamid.SENT1"),
        (DeliveryState.READ, "whatsapp:wamid.SENT1"),
        (DeliveryState.FAILED, "whatsapp:wamid.SENT2"),
    ]
    assert len({s.external_id for s in statuses}) == 4
    failed = statuses[-1]
    assert isinstance(failed, InboundStatus)
    assert (failed.error_code, failed.error) == ("131047", "Re-engagement message")
    assert failed.sender.platform_user_id == "whatsapp:16505551234"


def test_whatsapp_media_button_and_unsupported_messages() -> None:
    image, button = parsed("whatsapp_media_and_button.json")  # the unsupported message is left out
    assert isinstance(image, InboundMessage)
    assert image.text == "This one"
    assert image.reply_to_id == "whatsapp:wamid.SENT1"
    (attachment,) = image.attachments
    assert (attachment.kind, attachment.media_id, attachment.mime_type) == (
        AttachmentKind.IMAGE,
        "1479537139650973",
        "image/jpeg",
    )
    assert isinstance(button, InboundEvent)
    assert (button.kind, button.key) == ("postback", "BOOK_YES")


def test_batched_entries_are_all_parsed() -> None:
    first = json.loads((FIXTURES / "messenger_message.json").read_text())
    second = json.loads((FIXTURES / "page_feed_comment_add.json").read_text())
    body = {"object": "page", "entry": first["entry"] + second["entry"]}
    kinds = [type(item) for item in parse_notification(body)]
    assert kinds == [InboundMessage, InboundComment]


def test_unknown_objects_and_fields_give_nothing() -> None:
    assert parse_notification(sample("meta_graph_user_photos_notification.json")) == []


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_body(b"[]")


def test_connector_parses_webhook_bodies() -> None:
    body = (FIXTURES / "whatsapp_text.json").read_bytes()
    (item,) = Meta(InMemoryTokenStore()).parse_webhook(body, {"app_secret": "s", "verify_token": "t"})
    assert isinstance(item, InboundMessage)


def test_page_mention_is_an_event_naming_the_post_and_its_author() -> None:
    mention = only("page_mention.json")
    assert isinstance(mention, InboundEvent)
    assert (mention.kind, mention.key) == ("mention", "facebook:444444444_555555555")
    assert mention.sender.platform_user_id == PSID


def test_instagram_mention_names_the_comment_but_not_who_wrote_it() -> None:
    mention = only("instagram_mention.json")
    assert isinstance(mention, InboundEvent)
    assert (mention.kind, mention.key) == ("mention", "instagram:17894227972186120")
    assert mention.sender.platform_user_id == ""  # the mentions value does not say who

"""Telegram Updates become the right items, whether they came by webhook or by getUpdates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrm.connectors.items import AttachmentKind, InboundEvent, InboundFollow, InboundMessage
from scrm.connectors.telegram import Telegram
from scrm.connectors.telegram.payloads import event_id, parse_update

from ..memory import InMemoryTokenStore

UPDATES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "fixtures" / "get_updates.json").read_text())[
    "result"
]
BY_ID = {update["update_id"]: update for update in UPDATES}


def message(update_id: int) -> InboundMessage:
    item = parse_update(BY_ID[update_id])
    assert isinstance(item, InboundMessage)
    return item


def test_text_message_carries_sender_chat_and_time() -> None:
    item = message(815000001)
    assert item.platform == "telegram"
    assert item.external_id == "123456789:11"
    assert item.conversation_id == "123456789"
    assert item.text == "Hello, do you ship to Lyon?"
    assert item.at == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert item.sender.platform_user_id == "123456789"
    assert item.sender.display_name == "Ada Lovelace"
    assert item.sender.username == "ada"
    assert item.sender.language == "en"
    assert item.edited_at is None


def test_photo_keeps_the_largest_size_and_the_caption_as_text() -> None:
    item = message(815000002)
    assert item.text == "This one arrived broken"
    assert [(a.kind, a.media_id) for a in item.attachments] == [(AttachmentKind.IMAGE, "AgACAgQAAx0large")]
    assert item.reply_to_id == "123456789:10"


def test_sticker_location_and_contact_become_attachments() -> None:
    sticker = message(815000003).attachments[0]
    assert (sticker.kind, sticker.media_id, sticker.title) == (AttachmentKind.STICKER, "CAACAgIAAxkBsticker", "👍")
    place = message(815000004).attachments[0]
    assert place.kind is AttachmentKind.LOCATION
    assert place.data == {"latitude": 45.764043, "longitude": 4.835659}
    card = message(815000005).attachments[0]
    assert card.kind is AttachmentKind.CONTACT
    assert card.title == "Charles Babbage"
    assert card.data["phone_number"] == "+33612345678"


def test_edited_message_keeps_the_id_and_sets_edited_at() -> None:
    item = message(815000006)
    assert item.external_id == message(815000001).external_id
    assert item.text == "Hello, do you ship to Lyon or Grenoble?"
    assert item.edited_at == datetime(2026, 1, 1, 9, 5, tzinfo=UTC)


def test_user_blocking_the_bot_is_an_unfollow() -> None:
    item = parse_update(BY_ID[815000007])
    assert isinstance(item, InboundFollow)
    assert item.following is False
    assert item.sender.platform_user_id == "123456789"


def test_bot_added_to_a_group_is_a_membership_event() -> None:
    item = parse_update(BY_ID[815000008])
    assert isinstance(item, InboundEvent)
    assert (item.kind, item.key, item.conversation_id) == ("chat_member", "member", "-1001234567890")


def test_kinds_we_do_not_ingest_give_no_item() -> None:
    assert parse_update(BY_ID[815000009]) is None


@pytest.mark.parametrize("update", UPDATES, ids=[str(u["update_id"]) for u in UPDATES])
def test_webhook_body_parses_like_the_pulled_update(update: dict[str, Any]) -> None:
    connector = Telegram(InMemoryTokenStore())
    items = connector.parse_webhook(json.dumps(update).encode(), {"bot_token": "1:x"})
    expected = parse_update(update)
    assert list(items) == ([expected] if expected is not None else [])
    assert event_id(update) == str(update["update_id"])

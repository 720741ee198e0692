"""LINE webhook bodies: the official SDK fixture and documented shapes, event ids, reply windows."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scrm.connectors.items import AttachmentKind, InboundEvent, InboundFollow, InboundMessage
from scrm.connectors.line.payloads import (
    PayloadError,
    event_id,
    is_redelivery,
    parse_body,
    parse_event,
    reply_window,
    sender_from_profile,
)

from ..conftest import SAMPLES

FIXTURES = Path(__file__).parent / "fixtures"
SDK_BODY = (SAMPLES / "line_webhook_sdk_fixture.json").read_bytes()
SDK_EVENTS: list[dict[str, Any]] = json.loads(SDK_BODY)["events"]
BODY = (FIXTURES / "webhook_events.json").read_bytes()


def sdk_event(kind: str, **match: Any) -> dict[str, Any]:
    return next(e for e in SDK_EVENTS if e["type"] == kind and all(e["message"].get(k) == v for k, v in match.items()))


def test_text_message_from_the_sdk_fixture() -> None:
    item = parse_event(sdk_event("message", type="text"))
    assert isinstance(item, InboundMessage)
    assert (item.platform, item.external_id, item.text) == ("line", "325708", "Hello, world")
    assert item.sender.platform_user_id == item.conversation_id == "U206d25c2ea6bd87c17655609a1c37cb8"
    assert item.at == datetime(2016, 5, 7, 13, 57, 59, 859000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "attachment"),
    [
        ("image", AttachmentKind.IMAGE),
        ("video", AttachmentKind.VIDEO),
        ("audio", AttachmentKind.AUDIO),
        ("file", AttachmentKind.FILE),
        ("sticker", AttachmentKind.STICKER),
        ("location", AttachmentKind.LOCATION),
    ],
)
def test_every_message_type_in_the_sdk_fixture_carries_its_attachment(kind: str, attachment: AttachmentKind) -> None:
    item = parse_event(sdk_event("message", type=kind))
    assert isinstance(item, InboundMessage)
    assert [a.kind for a in item.attachments] == [attachment]


def test_sticker_and_location_details_are_kept() -> None:
    sticker = parse_event(sdk_event("message", type="sticker"))
    place = parse_event(sdk_event("message", type="location"))
    assert isinstance(sticker, InboundMessage) and isinstance(place, InboundMessage)
    assert sticker.attachments[0].media_id == "1"
    assert sticker.attachments[0].data["packageId"] == "1"
    assert place.attachments[0].title == "my location"
    assert place.attachments[0].data["latitude"] == pytest.approx(35.65910807942215)


def test_a_room_message_belongs_to_the_room() -> None:
    item = parse_event(next(e for e in SDK_EVENTS if e["source"]["type"] == "room" and "userId" in e["source"]))
    assert isinstance(item, InboundMessage)
    assert item.conversation_id == "Ra8dbf4673c4c812cd491258042226c99"
    assert item.sender.platform_user_id == "U206d25c2ea6bd87c17655609a1c37cb8"


def test_follow_unfollow_join_and_postback() -> None:
    follow = parse_event(sdk_event_of("follow"))
    unfollow = parse_event(sdk_event_of("unfollow"))
    join = parse_event(sdk_event_of("join"))
    postback = parse_event(sdk_event_of("postback"))
    assert isinstance(follow, InboundFollow) and follow.following
    assert isinstance(unfollow, InboundFollow) and not unfollow.following
    assert isinstance(join, InboundEvent) and (join.kind, join.key) == ("chat_member", "join")
    assert join.sender.platform_user_id == join.conversation_id == "Ca56f94637cc4347f90a25382909b24b9"
    assert isinstance(postback, InboundEvent) and postback.key == "action=buyItem&itemId=123123&color=red"


def sdk_event_of(kind: str) -> dict[str, Any]:
    return next(e for e in SDK_EVENTS if e["type"] == kind)


def test_an_edit_keeps_the_message_id_and_is_marked() -> None:
    item = parse_event(sdk_event_of("messageEdited"))
    assert isinstance(item, InboundMessage)
    assert (item.external_id, item.text) == ("325708", "Hello, edited world")
    assert item.edited_at == item.at


def test_kinds_we_do_not_ingest_give_nothing() -> None:
    for kind in ("beacon", "unsend", "accountLink", "videoPlayComplete", "undefined"):
        assert parse_event(sdk_event_of(kind)) is None


def test_the_whole_sdk_body_parses() -> None:
    items = parse_body(SDK_BODY)
    assert len(SDK_EVENTS) == 28
    assert len(items) == 22  # all but beacon x2, accountLink, unsend, videoPlayComplete and the unknown kind
    assert {item.platform for item in items} == {"line"}


def test_documented_body_gives_one_item_per_event() -> None:
    items = parse_body(BODY)
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["InboundMessage"] * 3 + ["InboundFollow"] * 2 + ["InboundEvent"] * 2
    assert len({item.external_id for item in items}) == len(items)


def test_an_empty_events_array_is_the_connectivity_check() -> None:
    assert parse_body(b'{"destination":"U5f4e0a1b2c3d4e5f60718293a4b5c6d7","events":[]}') == []


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(PayloadError):
        parse_body(b"<xml/>")


def test_event_id_of_one_event_is_its_webhook_event_id() -> None:
    event = json.loads(BODY)["events"][0]
    body = json.dumps({"destination": "U1", "events": [event]}).encode()
    assert event_id(body) == "01JGQ9X0A1B2C3D4E5F6G7H8J9"


def test_event_id_of_several_events_ignores_json_spacing() -> None:
    parsed = json.loads(BODY)
    assert event_id(BODY) == event_id(json.dumps(parsed, separators=(",", ":")).encode())
    assert event_id(BODY).startswith("sha256:")
    other = {**parsed, "events": parsed["events"][:-1]}
    assert event_id(BODY) != event_id(json.dumps(other).encode())


def test_event_id_without_ids_is_the_body_digest() -> None:
    body = b'{"destination":"U1","events":[]}'
    assert event_id(body) == "sha256:" + hashlib.sha256(body).hexdigest()
    assert event_id(b"garbage") == "sha256:" + hashlib.sha256(b"garbage").hexdigest()


def test_redelivery_flag() -> None:
    events = json.loads(BODY)["events"]
    assert [is_redelivery(e) for e in events].count(True) == 1


def test_reply_window_is_one_minute_from_the_event() -> None:
    event = json.loads(BODY)["events"][0]
    token, expires = reply_window(event) or ("", None)
    assert token == "b60d432864f44d079f6d8efe86cf404b"
    assert expires == datetime.fromtimestamp(1767258000, UTC) + timedelta(minutes=1)
    assert reply_window(json.loads(BODY)["events"][4]) is None  # an unfollow has no reply token


def test_profile_fills_the_sender() -> None:
    sender = sender_from_profile(json.loads((FIXTURES / "profile.json").read_text()))
    assert (sender.display_name, sender.language) == ("LINE taro", "en")
    assert sender.avatar_url.startswith("https://profile.line-scdn.net/")


def test_a_message_carries_its_reply_token_and_an_edit_does_not() -> None:
    event = sdk_event("message", type="text")
    item = parse_event(event)
    assert isinstance(item, InboundMessage) and item.reply_token == event["replyToken"] != ""
    edited = parse_event({**event, "type": "messageEdited"})
    assert isinstance(edited, InboundMessage) and edited.reply_token == ""
    without = parse_event({key: value for key, value in event.items() if key != "replyToken"})
    assert isinstance(without, InboundMessage) and without.reply_token == ""

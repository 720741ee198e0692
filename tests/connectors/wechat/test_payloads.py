"""WeChat pushes (plain, compatible and safe mode) become the right items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrm.connectors.items import AttachmentKind, InboundEvent, InboundFollow, InboundMessage
from scrm.connectors.wechat import WeChat
from scrm.connectors.wechat.payloads import PayloadError, event_id, follow_from_user_info, parse_message, parse_xml

from ..conftest import PLATFORMS, SAMPLES
from ..memory import InMemoryTokenStore

FIXTURES = Path(__file__).parent / "fixtures"
VECTORS = {v["id"]: v for v in json.loads((PLATFORMS / "vectors.json").read_text(encoding="utf-8"))}
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def parsed(name: str) -> Any:
    return parse_message(parse_xml((FIXTURES / name).read_bytes()))


def test_published_text_message_sample() -> None:
    fields = parse_xml((SAMPLES / "wechat_text_message.xml").read_bytes())
    item = parse_message(fields)
    assert isinstance(item, InboundMessage)
    assert item.platform == "wechat"
    assert item.external_id == "1234567890123456" == event_id(fields)
    assert item.text == "this is a test"
    assert item.sender.platform_user_id == "fromUser"
    assert item.conversation_id == "fromUser"
    assert item.at == datetime.fromtimestamp(1348831860, UTC)


def test_image_voice_location_and_link_become_attachments() -> None:
    image, voice, place, link = (parsed(n) for n in ("image.xml", "voice.xml", "location.xml", "link.xml"))
    assert (image.attachments[0].kind, image.attachments[0].media_id) == (AttachmentKind.IMAGE, "media_id_image_1")
    assert image.attachments[0].url.startswith("http://mmbiz.qpic.cn/")
    assert (voice.attachments[0].kind, voice.attachments[0].mime_type) == (AttachmentKind.AUDIO, "audio/amr")
    assert place.attachments[0].data["latitude"] == pytest.approx(23.134521)
    assert place.attachments[0].title == "广州市天河区"
    assert (link.attachments[0].url, link.text) == ("https://example.com/new", "秋季新品")


def test_subscribe_and_unsubscribe_are_follows() -> None:
    follow, qr_follow, unfollow = (parsed(n) for n in ("subscribe.xml", "subscribe_qrscene.xml", "unsubscribe.xml"))
    assert isinstance(follow, InboundFollow) and follow.following and follow.source == ""
    assert isinstance(qr_follow, InboundFollow) and qr_follow.source == "spring_fair"
    assert isinstance(unfollow, InboundFollow) and not unfollow.following
    assert follow.external_id == f"{OPENID}:1767258240:subscribe"


def test_scan_by_a_follower_carries_the_scene() -> None:
    item = parsed("scan.xml")
    assert isinstance(item, InboundEvent)
    assert (item.kind, item.key) == ("scan", "spring_fair")


def test_menu_click_and_view_are_menu_events_with_distinct_ids() -> None:
    click, view = parsed("click.xml"), parsed("view.xml")
    assert isinstance(click, InboundEvent) and isinstance(view, InboundEvent)
    assert (click.kind, click.key) == ("menu_click", "ORDER_STATUS")
    assert (view.kind, view.key) == ("menu_view", "https://example.com/shop")
    assert click.external_id != view.external_id  # same user, same second


def test_unknown_message_type_gives_no_item() -> None:
    fields = {"MsgType": "miniprogrampage", "FromUserName": OPENID, "CreateTime": "1", "MsgId": "9"}
    assert parse_message(fields) is None


def test_a_body_with_a_dtd_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    with pytest.raises(PayloadError):
        parse_xml(bomb)
    with pytest.raises(PayloadError):
        parse_xml(b"not xml")


def test_follower_profile_matches_the_subscribe_event_id() -> None:
    info = json.loads((FIXTURES / "user_info_batchget.json").read_text())["user_info_list"][0]
    item = follow_from_user_info(info)
    webhook = parsed("subscribe_qrscene.xml")
    assert item.external_id == webhook.external_id
    assert item.source == "spring_fair"
    assert item.sender.language == "zh_CN"


def safe_mode_creds() -> dict[str, str]:
    inputs = VECTORS["wechat-oa-safe-mode-py-sample"]["inputs"]
    return {
        "app_id": inputs["appid"],
        "app_secret": "unused",
        "token": inputs["token"],
        "encoding_aes_key": inputs["encoding_aes_key"],
    }


def test_safe_mode_body_is_decrypted_before_parsing() -> None:
    body = (SAMPLES / "wechat_safe_mode_compat_request.xml").read_bytes()
    (item,) = WeChat(InMemoryTokenStore()).parse_webhook(body, safe_mode_creds())
    assert isinstance(item, InboundMessage)
    assert item.text == "abcdteT"
    assert item.external_id == "6054768590064713728"
    assert item.sender.platform_user_id == OPENID


def test_compatible_mode_body_reads_clear_fields_without_a_key() -> None:
    body = (SAMPLES / "wechat_safe_mode_compat_request.xml").read_bytes()
    creds = {**safe_mode_creds(), "encoding_aes_key": ""}
    (item,) = WeChat(InMemoryTokenStore()).parse_webhook(body, creds)
    assert isinstance(item, InboundMessage)
    assert item.text == "abcdteT"


def test_plain_mode_body_parses_directly() -> None:
    body = (SAMPLES / "wechat_text_message.xml").read_bytes()
    creds = {"app_id": "wx1", "app_secret": "s", "token": "t"}
    (item,) = WeChat(InMemoryTokenStore()).parse_webhook(body, creds)
    assert isinstance(item, InboundMessage) and item.text == "this is a test"

"""WeCom callbacks: the official vectors through our URL check and decryption, contact changes, 微信客服 records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from scrm.connectors.items import AttachmentKind, InboundEvent, InboundFollow, InboundMessage
from scrm.connectors.wechat.crypto import MessageCrypto, MessageCryptoError
from scrm.connectors.wecom import WeCom
from scrm.connectors.wecom.payloads import (
    event_id,
    follow_from_contact,
    kf_sync_token,
    parse_kf_message,
    split_kf_conversation,
)

from ..conftest import PLATFORMS, SAMPLES
from ..memory import InMemoryTokenStore

FIXTURES = Path(__file__).parent / "fixtures"
VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v for v in json.loads((PLATFORMS / "vectors.json").read_text(encoding="utf-8")) if v["platform"] == "wecom"
}
SAMPLE = VECTORS["wecom-decrypt-xml"]["inputs"]
CREDS = {
    "corp_id": SAMPLE["corp_id"],
    "secret": "app-secret",
    "token": SAMPLE["token"],
    "encoding_aes_key": SAMPLE["encoding_aes_key"],
    "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
}
CRYPTO = MessageCrypto(CREDS["token"], CREDS["encoding_aes_key"], CREDS["corp_id"])


def encrypted_callback(name: str) -> bytes:
    """A callback body as WeCom posts it: the fixture's plaintext XML encrypted for the sample corp."""
    encrypt = CRYPTO.encrypt((FIXTURES / name).read_text(encoding="utf-8").strip())
    return (
        f"<xml><ToUserName><![CDATA[{CREDS['corp_id']}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode()


@pytest.fixture
def wecom() -> WeCom:
    return WeCom(InMemoryTokenStore())


def test_url_verification_vector_decrypts_echostr(wecom: WeCom) -> None:
    vector = VECTORS["wecom-verify-url"]
    inputs, expected = vector["inputs"], vector["expected"]
    plain = wecom.verify_url(CREDS, expected["msg_signature"], inputs["timestamp"], inputs["nonce"], inputs["encrypt"])
    # wecom.md b: the source does not state the plaintext; decrypting the published echostr gives this value.
    assert plain == "1288432023552776189"


def test_url_verification_accepts_a_plus_decoded_as_space(wecom: WeCom) -> None:
    inputs, expected = VECTORS["wecom-verify-url"]["inputs"], VECTORS["wecom-verify-url"]["expected"]
    mangled = inputs["encrypt"].replace("+", " ")
    assert " " in mangled
    assert wecom.verify_url(CREDS, expected["msg_signature"], inputs["timestamp"], inputs["nonce"], mangled)


def test_url_verification_refuses_a_wrong_signature(wecom: WeCom) -> None:
    inputs = VECTORS["wecom-verify-url"]["inputs"]
    with pytest.raises(MessageCryptoError):
        wecom.verify_url(CREDS, "0" * 40, inputs["timestamp"], inputs["nonce"], inputs["encrypt"])


def test_decrypt_vector_through_the_webhook_path(wecom: WeCom) -> None:
    expected = VECTORS["wecom-decrypt-xml"]["expected"]
    assert CRYPTO.signature(SAMPLE["timestamp"], SAMPLE["nonce"], SAMPLE["encrypt"]) == expected["msg_signature"]
    body = (SAMPLES / "wecom_encrypted_callback.xml").read_bytes()
    [item] = wecom.parse_webhook(body, CREDS)
    assert isinstance(item, InboundMessage)
    assert (item.external_id, item.text, item.sender.platform_user_id) == ("1456453720", "你好", "ChenJiaShun")
    assert event_id(body, CRYPTO) == "1456453720"


def test_a_callback_for_another_corp_is_refused(wecom: WeCom) -> None:
    body = (SAMPLES / "wecom_encrypted_callback.xml").read_bytes()
    with pytest.raises(MessageCryptoError):
        wecom.parse_webhook(body, {**CREDS, "corp_id": "ww0000000000000000"})


def test_a_customer_added_by_a_member_is_a_follow(wecom: WeCom) -> None:
    [item] = wecom.parse_webhook(encrypted_callback("add_external_contact.xml"), CREDS)
    assert isinstance(item, InboundFollow) and item.following
    assert item.sender.platform_user_id == "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
    assert (item.external_id, item.source) == (
        "zhangsan:wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw:add_external_contact:1767258000",
        "spring_poster",
    )


@pytest.mark.parametrize(
    ("name", "source"),
    [("del_external_contact.xml", "deleted_by_member"), ("del_follow_user.xml", "deleted_by_customer")],
)
def test_either_side_deleting_is_an_unfollow(wecom: WeCom, name: str, source: str) -> None:
    [item] = wecom.parse_webhook(encrypted_callback(name), CREDS)
    assert isinstance(item, InboundFollow) and not item.following
    assert item.source == source


def test_an_edited_contact_is_a_profile_event(wecom: WeCom) -> None:
    [item] = wecom.parse_webhook(encrypted_callback("edit_external_contact.xml"), CREDS)
    assert isinstance(item, InboundEvent)
    assert (item.kind, item.key, item.conversation_id) == (
        "contact_edited",
        "zhangsan",
        "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw",
    )


def test_the_customer_service_signal_carries_the_sync_token(wecom: WeCom) -> None:
    [item] = wecom.parse_webhook(encrypted_callback("kf_msg_or_event.xml"), CREDS)
    assert isinstance(item, InboundEvent) and item.kind == "kf_msg_or_event"
    assert kf_sync_token(item) == "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
    assert item.sender.platform_user_id == ""  # our own account sent it: no contact


def test_the_signal_asks_for_a_pull_of_its_account_with_its_token(wecom: WeCom) -> None:
    [item] = wecom.parse_webhook(encrypted_callback("kf_msg_or_event.xml"), CREDS)
    asked = wecom.pull_requested(item)
    assert asked is not None
    assert asked.stream.name == "kf_messages:wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
    assert asked.credentials == {"kf_token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"}
    [follow] = wecom.parse_webhook(encrypted_callback("add_external_contact.xml"), CREDS)
    assert wecom.pull_requested(follow) is None


def test_event_ids_survive_re_encryption() -> None:
    first, second = encrypted_callback("del_follow_user.xml"), encrypted_callback("del_follow_user.xml")
    assert first != second  # a fresh random prefix each time
    assert event_id(first, CRYPTO) == event_id(second, CRYPTO)
    assert (
        event_id(first, CRYPTO)
        == "sys:1767258200:change_external_contact:del_follow_user:lisi:wmAJ2GCAAAzzzzRC-NI-q0_ZM9ukoBx"
    )
    assert (
        event_id(encrypted_callback("kf_msg_or_event.xml"), CRYPTO)
        == "kf:ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
    )


def test_contact_changes_in_the_same_second_get_different_ids() -> None:
    deleted = event_id(encrypted_callback("del_external_contact.xml"), CRYPTO)
    left = event_id(encrypted_callback("del_follow_user.xml"), CRYPTO)
    assert deleted != left


def test_an_unreadable_body_is_known_by_its_digest() -> None:
    assert (
        event_id(b"<xml><Encrypt>AAAA</Encrypt></xml>", CRYPTO)
        == "sha256:" + hashlib.sha256(b"<xml><Encrypt>AAAA</Encrypt></xml>").hexdigest()
    )


def test_sync_msg_records() -> None:
    records = json.loads((FIXTURES / "sync_msg.json").read_text(encoding="utf-8"))["msg_list"]
    text, image, servicer, session = (parse_kf_message(r) for r in records)
    assert isinstance(text, InboundMessage) and text.text == "你好，请问还有货吗？"
    assert text.sender.platform_user_id == "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
    # the conversation names the account the customer wrote to, which replies must leave from
    assert text.conversation_id == "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q:wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
    assert split_kf_conversation(text.conversation_id) == (
        "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
        "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw",
    )
    assert isinstance(session, InboundEvent) and session.conversation_id == text.conversation_id
    assert isinstance(image, InboundMessage) and image.attachments[0].kind is AttachmentKind.IMAGE
    assert servicer is None
    assert isinstance(session, InboundEvent) and (session.kind, session.key) == ("kf_enter_session", "poster")


def test_batch_get_by_user_records_are_follows_matching_the_callback_id() -> None:
    records = json.loads((FIXTURES / "batch_get_by_user.json").read_text(encoding="utf-8"))["external_contact_list"]
    follow = follow_from_contact(records[0])
    assert (follow.sender.display_name, follow.source) == ("李四", "spring_poster")
    assert follow.external_id == "zhangsan:wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw:add_external_contact:1767258000"
    assert follow_from_contact(records[1]).source == "3"  # no state: how they were added (add_way)

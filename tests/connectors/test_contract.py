"""Every registered connector honours the contract: declaration, folder, streams and webhook parsing."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrm.connectors.base import Capability, Connector
from scrm.connectors.errors import UnknownPlatform
from scrm.connectors.http import RestStream
from scrm.connectors.items import InboundComment, InboundEvent, InboundFollow, InboundMessage, InboundPost
from scrm.connectors.registry import CONNECTORS, get_connector, iter_connectors

from .conftest import SAMPLES
from .memory import InMemoryTokenStore

HERE = Path(__file__).parent
TELEGRAM_UPDATES: list[dict[str, Any]] = json.loads((HERE / "telegram" / "fixtures" / "get_updates.json").read_text())[
    "result"
]
WECHAT_PROFILES: list[dict[str, Any]] = json.loads(
    (HERE / "wechat" / "fixtures" / "user_info_batchget.json").read_text()
)["user_info_list"]
LINE_PROFILE: dict[str, Any] = json.loads((HERE / "line" / "fixtures" / "profile.json").read_text())
X_MENTIONS: list[dict[str, Any]] = json.loads((HERE / "x" / "fixtures" / "mentions_page.json").read_text())["data"]
X_FOLLOWERS: list[dict[str, Any]] = json.loads((HERE / "x" / "fixtures" / "followers_page.json").read_text())["data"]
WECOM_CONTACTS: list[dict[str, Any]] = json.loads(
    (HERE / "wecom" / "fixtures" / "batch_get_by_user.json").read_text(encoding="utf-8")
)["external_contact_list"]
WECOM_KF: list[dict[str, Any]] = json.loads(
    (HERE / "wecom" / "fixtures" / "sync_msg.json").read_text(encoding="utf-8")
)["msg_list"]

CREDENTIALS = {
    "telegram": {"bot_token": "123:ABC", "secret_token": "s3cret"},
    "wechat": {"app_id": "wx2c2769f8efd9abc2", "app_secret": "secret", "token": "spamtest"},
    "line": {"channel_secret": "channel_secret", "channel_access_token": "token"},
    "x": {
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "access_token": "4337869213-at",
        "access_token_secret": "ats",
        "bearer_token": "bt",
        "user_id": "4337869213",
    },
    "wecom": {
        "corp_id": "ww1436e0e65a779aee",
        "secret": "secret",
        "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
        "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
        "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
    },
}
STREAM_RECORDS: dict[tuple[str, str], list[Any]] = {
    ("telegram", "updates"): TELEGRAM_UPDATES,
    ("wechat", "followers"): WECHAT_PROFILES,
    ("line", "followers"): [LINE_PROFILE],
    ("x", "mentions"): X_MENTIONS,
    ("x", "followers"): X_FOLLOWERS,
    ("wecom", "external_contacts"): WECOM_CONTACTS,
    ("wecom", "kf_messages"): WECOM_KF,
}
WEBHOOK_BODIES: dict[str, list[bytes]] = {
    "telegram": [json.dumps(update).encode() for update in TELEGRAM_UPDATES],
    "wechat": [(SAMPLES / "wechat_text_message.xml").read_bytes()],
    "line": [(HERE / "line" / "fixtures" / "webhook_events.json").read_bytes()],
    "x": [
        (SAMPLES / "x_account_activity_direct_message_events.json").read_bytes(),
        (HERE / "x" / "fixtures" / "tweet_create_events.json").read_bytes(),
        (HERE / "x" / "fixtures" / "follow_events.json").read_bytes(),
    ],
    "wecom": [(SAMPLES / "wecom_encrypted_callback.xml").read_bytes()],
}
CREDENTIALS["api"] = {"inbound_token": "in-token", "outbound_url": "https://example.com/hook", "signing_secret": "s"}
WEBHOOK_BODIES["api"] = [
    json.dumps(
        {
            "events": [
                {"type": "message", "id": "m-1", "conversation_id": "t-1", "from": {"id": "u-1", "name": "Ann"},
                 "text": "Hi", "at": "2026-05-20T09:30:00Z"},
                {"type": "post", "id": "p-1", "text": "New", "at": "2026-05-20T09:00:00Z"},
                {"type": "comment", "id": "c-1", "post_id": "p-1", "from": {"id": "u-1"}, "text": "Nice",
                 "at": "2026-05-20T09:10:00Z"},
                {"type": "follow", "id": "f-1", "from": {"id": "u-1"}, "at": "2026-05-20T09:20:00Z"},
            ]
        }
    ).encode()
]  # fmt: skip
META_RECORDS: dict[str, list[Any]] = json.loads((HERE / "meta" / "fixtures" / "graph_records.json").read_text())
CREDENTIALS["meta"] = {
    "app_secret": "app-secret",
    "verify_token": "verify-token",
    "page_id": "682498171943165",
    "page_access_token": "page-token",
    "instagram_account_id": "17841405822304914",
    "whatsapp_phone_number_id": "106540352242922",
    "whatsapp_token": "wa-token",
}
STREAM_RECORDS.update({("meta", name): records for name, records in META_RECORDS.items()})
WEBHOOK_BODIES["meta"] = [
    (HERE / "meta" / "fixtures" / name).read_bytes()
    for name in ("messenger_message.json", "page_feed_comment_add.json", "whatsapp_text.json", "whatsapp_statuses.json")
]
ITEM_TYPES = (InboundMessage, InboundPost, InboundComment, InboundFollow, InboundEvent)


@pytest.fixture(params=CONNECTORS, ids=[c.platform for c in CONNECTORS])
def connector(request: pytest.FixtureRequest) -> Connector:
    found: Connector = get_connector(request.param.platform, InMemoryTokenStore())
    return found


def test_registry_lists_every_connector_once() -> None:
    platforms = [c.platform for c in iter_connectors(InMemoryTokenStore())]
    assert platforms == [c.platform for c in CONNECTORS]
    assert len(set(platforms)) == len(platforms)


def test_unknown_platform_is_a_clear_error() -> None:
    with pytest.raises(UnknownPlatform, match="no connector for platform 'myspace'"):
        get_connector("myspace", InMemoryTokenStore())


def test_platform_key_names_the_folder(connector: Connector) -> None:
    assert type(connector).__module__ == f"scrm.connectors.{connector.platform}.connector"
    for stream in connector.streams:
        assert stream.__module__ == f"scrm.connectors.{connector.platform}.streams"


def test_declaration_is_complete(connector: Connector) -> None:
    assert isinstance(connector.capabilities, frozenset) and connector.capabilities
    assert all(isinstance(c, Capability) for c in connector.capabilities)
    assert connector.rate_limit.calls > 0 and connector.rate_limit.per.total_seconds() > 0
    assert connector.credential_keys <= CREDENTIALS[connector.platform].keys()
    if Capability.PULL in connector.capabilities:
        assert connector.streams
    assert inspect.iscoroutinefunction(connector.send)


def test_streams_are_declared_rest_streams(connector: Connector) -> None:
    names = [stream.name for stream in connector.streams]
    assert len(set(names)) == len(names)
    for stream in connector.streams:
        assert issubclass(stream, RestStream)
        assert stream.path.startswith("/")
        assert isinstance(stream.records, str)
        assert hasattr(stream.paginator, "next_page")


async def test_streams_parse_sample_records(connector: Connector) -> None:
    async with httpx.AsyncClient() as http:
        for stream_class in connector.streams:
            stream = connector.open_stream(stream_class, http, CREDENTIALS[connector.platform])
            items = [stream.parse(raw) for raw in STREAM_RECORDS[(connector.platform, stream_class.name)]]
            parsed = [item for item in items if item is not None]
            assert parsed
            for item in parsed:
                assert isinstance(item, ITEM_TYPES)
                assert item.platform == connector.platform
                assert item.external_id


def test_webhook_samples_parse(connector: Connector) -> None:
    items = [
        item
        for body in WEBHOOK_BODIES[connector.platform]
        for item in connector.parse_webhook(body, CREDENTIALS[connector.platform])
    ]
    assert items
    assert all(isinstance(item, ITEM_TYPES) and item.platform == connector.platform for item in items)
    originals = [item for item in items if not (isinstance(item, InboundMessage) and item.edited_at)]
    assert len({item.external_id for item in originals}) == len(originals)  # only an edit repeats an id

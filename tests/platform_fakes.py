"""Channels and signed deliveries as the platforms would send them, for tests that go through the ingress."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.tokens import create_token
from scrm.connectors.wechat.crypto import MessageCrypto
from scrm.models import Channel, ChannelCredentials, Role, Workspace, WorkspaceScope
from scrm.models.sealed import SecretBox
from tests.conftest import TEST_SECRET_KEY

TELEGRAM_CREDENTIALS = {"bot_token": "123456:TEST-token", "secret_token": "tg-secret-0123456789"}
WECHAT_CREDENTIALS = {
    "app_id": "wx5823bf96d3bd56c7",
    "app_secret": "test-app-secret",
    "token": "QDG6eK",
    "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
}
META_CREDENTIALS = {
    "app_secret": "meta-app-secret-0123456789",
    "verify_token": "meatyhamhock",
    "page_id": "682498171943165",
    "instagram_account_id": "17841405822304914",
    "whatsapp_phone_number_id": "106540352242922",
}
LINE_CREDENTIALS = {"channel_secret": "line-channel-secret-0123", "channel_access_token": "line-access-token"}
X_CREDENTIALS = {
    "consumer_key": "x-consumer-key",
    "consumer_secret": "x-consumer-secret-0123456789",
    "access_token": "4337869213-access-token",
    "access_token_secret": "x-access-token-secret",
    "bearer_token": "x-bearer-token",
    "user_id": "4337869213",
}
# The corp of WeCom's official sample code (wecom.md b), so its published vectors decrypt on this channel.
WECOM_CREDENTIALS = {
    "corp_id": "ww1436e0e65a779aee",
    "secret": "wecom-app-secret",
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
}


@dataclass(frozen=True)
class TestChannel:
    """A channel stored the way the product stores one, credentials sealed."""

    __test__ = False  # a helper, not a test class, wherever it is imported

    id: PydanticObjectId
    workspace_id: PydanticObjectId
    platform: str
    credentials: dict[str, str]


async def make_channel(platform: str, credentials: dict[str, str], workspace: str = "acme") -> TestChannel:
    """Create (or reuse) the workspace and add a channel of `platform` with sealed credentials."""
    found = await Workspace.find_one(Workspace.name == workspace)
    owner = found or await Workspace(name=workspace).insert()
    assert owner.id is not None
    channel = await Channel(workspace_id=owner.id, platform=platform, name=f"{platform} {workspace}").insert()
    assert channel.id is not None
    stored = ChannelCredentials(workspace_id=owner.id, channel_id=channel.id)
    stored.seal(SecretBox.from_secret_key(TEST_SECRET_KEY), credentials)
    await stored.insert()
    return TestChannel(channel.id, owner.id, platform, credentials)


def telegram_update(update_id: int, text: str, user_id: int = 777, chat_id: int | None = None) -> bytes:
    """A Telegram Update with one private text message, as the Bot API sends it."""
    chat = chat_id or user_id
    update: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": update_id + 1000,
            "from": {"id": user_id, "is_bot": False, "first_name": "Mia", "username": "mia_w", "language_code": "en"},
            "chat": {"id": chat, "type": "private", "first_name": "Mia", "username": "mia_w"},
            "date": 1779270000,
            "text": text,
        },
    }
    return json.dumps(update).encode()


def telegram_headers(secret: str = TELEGRAM_CREDENTIALS["secret_token"]) -> dict[str, str]:
    """The headers Telegram sends with a webhook set up with `secret_token`."""
    return {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}


def wechat_text_xml(msg_id: str, text: str, openid: str = "oUser_wang_0001") -> str:
    """A plain-mode WeChat text message push."""
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>1779270000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def wechat_safe_delivery(
    plain_xml: str, timestamp: str = "1779270000", nonce: str = "n0nce"
) -> tuple[bytes, dict[str, str]]:
    """A safe-mode push: the message encrypted with the channel's EncodingAESKey, and its query parameters."""
    creds = WECHAT_CREDENTIALS
    crypto = MessageCrypto(creds["token"], creds["encoding_aes_key"], creds["app_id"])
    encrypt = crypto.encrypt(plain_xml)
    body = f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    plain_signature = hashlib.sha1("".join(sorted([creds["token"], timestamp, nonce])).encode()).hexdigest()  # noqa: S324
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": plain_signature,
        "encrypt_type": "aes",
        "msg_signature": crypto.signature(timestamp, nonce, encrypt),
        "openid": "oUser_wang_0001",
    }
    return body.encode(), query


def meta_headers(body: bytes, app_secret: str = META_CREDENTIALS["app_secret"]) -> dict[str, str]:
    """The headers Meta signs a delivery with: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}


def line_headers(body: bytes, channel_secret: str = LINE_CREDENTIALS["channel_secret"]) -> dict[str, str]:
    """The headers LINE signs a delivery with: `x-line-signature`, the base64 HMAC of the raw body."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return {"content-type": "application/json", "x-line-signature": base64.b64encode(digest).decode()}


def x_headers(body: bytes, consumer_secret: str = X_CREDENTIALS["consumer_secret"]) -> dict[str, str]:
    """The headers X signs a delivery with: `x-twitter-webhooks-signature: sha256=<base64 HMAC>`."""
    digest = hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode(),
    }


def wecom_delivery(
    plain_xml: str, timestamp: str = "1779270000", nonce: str = "n0nce", agent_id: str = "1000002"
) -> tuple[bytes, dict[str, str]]:
    """A WeCom callback: the plaintext encrypted for the corp, in the envelope WeCom posts, and its query."""
    creds = WECOM_CREDENTIALS
    encrypt = MessageCrypto(creds["token"], creds["encoding_aes_key"], creds["corp_id"]).encrypt(plain_xml)
    body = (
        f"<xml><ToUserName><![CDATA[{creds['corp_id']}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
    )
    signature = hashlib.sha1("".join(sorted([creds["token"], timestamp, nonce, encrypt])).encode()).hexdigest()  # noqa: S324
    return body.encode(), {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


async def api_headers(workspace_id: PydanticObjectId, role: Role = Role.ADMIN) -> dict[str, str]:
    """Bearer headers of a new API token of the workspace with this role."""
    _, plain = await create_token(WorkspaceScope(workspace_id), role, f"{role.value} test token", datetime.now(UTC),
                                  actor="test")  # fmt: skip
    return {"authorization": f"Bearer {plain}"}

"""Tencent's published WeChat vectors through the real `/webhooks/wechat/...` endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from scrm.db import Database
from scrm.models import Message, RawEvent
from scrm.settings import Settings
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import make_channel

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "platforms" / "vectors.json"


def _vector(vector_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in json.loads(VECTORS.read_text()) if v["id"] == vector_id)
    return found


async def test_the_url_check_vector_echoes_through_the_endpoint(client: httpx.AsyncClient, database: Database) -> None:
    vector = _vector("wechat-oplatform-basic-signature")
    token, timestamp, nonce = vector["inputs"]["parts"]
    channel = await make_channel("wechat", {"app_id": "wxvector", "app_secret": "s", "token": token})
    query = {"signature": vector["expected"]["signature"], "timestamp": timestamp, "nonce": nonce,
             "echostr": vector["inputs"]["echostr"]}  # fmt: skip
    answer = await client.get(f"/webhooks/wechat/{channel.id}", params=query)
    assert answer.status_code == 200 and answer.text == vector["inputs"]["echostr"]
    tampered = await client.get(f"/webhooks/wechat/{channel.id}", params={**query, "nonce": "1"})
    assert tampered.status_code == 401


async def test_the_safe_mode_vector_is_stored_and_decrypted_into_a_message(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    vector = _vector("wechat-oa-safe-mode-py-sample")
    inputs = vector["inputs"]
    credentials = {"app_id": inputs["appid"], "app_secret": "s", "token": inputs["token"],
                   "encoding_aes_key": inputs["encoding_aes_key"]}  # fmt: skip
    channel = await make_channel("wechat", credentials)
    body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{inputs['encrypt']}]]></Encrypt></xml>"
    query = {"timestamp": inputs["timestamp"], "nonce": inputs["nonce"], "encrypt_type": "aes",
             "msg_signature": vector["expected"]["msg_signature"]}  # fmt: skip
    answer = await client.post(f"/webhooks/wechat/{channel.id}", content=body.encode(), params=query)
    assert answer.status_code == 200 and answer.text == "success"
    stored = await RawEvent.find_one({})
    assert stored is not None and stored.event_id == "6054768590064713728"
    await drain(settings)
    message = await Message.find_one({})
    assert message is not None and message.text == "abcdteT"
    assert message.external_id is not None and "6054768590064713728" in message.external_id
    forged = await client.post(
        f"/webhooks/wechat/{channel.id}", content=body.encode(), params={**query, "msg_signature": "0" * 40}
    )
    assert forged.status_code == 401 and await RawEvent.count() == 1

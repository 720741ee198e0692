"""Every published Meta, LINE, X and WeCom vector in platforms/vectors.json, through the real webhook endpoints.

A signature vector is posted as its body with its signature to a channel holding its secret: it must be
answered 200 and stored; with one byte of the body or the signature changed it must be refused and nothing
stored. The WeCom URL-check vector goes through GET, its callback vector through POST and the worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrm.db import Database
from scrm.models import Message, RawEvent
from scrm.settings import Settings
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import make_channel

PLATFORMS = Path(__file__).parents[2] / ".." / "shared" / "platforms"
WEBHOOK_PLATFORMS = ("meta", "line", "x", "wecom")
VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v
    for v in json.loads((PLATFORMS / "vectors.json").read_text(encoding="utf-8"))
    if v["platform"] in WEBHOOK_PLATFORMS
}
SIGNATURE_VECTORS = ("meta-whatsapp-sdk-xhub256", "line-sdk-signature")
WECOM_URL_CHECK, WECOM_CALLBACK = VECTORS["wecom-verify-url"], VECTORS["wecom-decrypt-xml"]


def test_every_vector_of_these_platforms_is_run_here() -> None:
    """A vector added to vectors.json for one of these platforms must get a case below (X has none published)."""
    assert set(VECTORS) == {*SIGNATURE_VECTORS, "wecom-verify-url", "wecom-decrypt-xml"}


def signed_delivery(vector: dict[str, Any]) -> tuple[dict[str, str], bytes, dict[str, str]]:
    """The channel credentials, body and headers a signature vector stands for."""
    inputs, expected = vector["inputs"], vector["expected"]
    body = inputs["body"].encode()
    if vector["platform"] == "meta":
        return {"app_secret": inputs["app_secret"]}, body, {"x-hub-signature-256": "sha256=" + expected["hex_digest"]}
    return {"channel_secret": inputs["channel_secret"]}, body, {"x-line-signature": expected["x_line_signature"]}


def wecom_credentials(vector: dict[str, Any]) -> dict[str, str]:
    """The official sample corp's channel credentials, as a vector gives them."""
    inputs = vector["inputs"]
    return {
        "corp_id": inputs["corp_id"],
        "secret": "app-secret",
        "token": inputs["token"],
        "encoding_aes_key": inputs["encoding_aes_key"],
    }


def _flip(text: str) -> str:
    return text[:-2] + ("A" if text[-2] != "A" else "B") + text[-1]


@pytest.mark.parametrize("vector_id", SIGNATURE_VECTORS)
async def test_a_signature_vector_is_accepted_and_stored(
    client: httpx.AsyncClient, database: Database, vector_id: str
) -> None:
    vector = VECTORS[vector_id]
    credentials, body, headers = signed_delivery(vector)
    channel = await make_channel(vector["platform"], credentials)
    response = await client.post(f"/webhooks/{vector['platform']}/{channel.id}", content=body, headers=headers)
    assert response.status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.body == body and raw.platform == vector["platform"] and raw.channel_id == channel.id


@pytest.mark.parametrize("vector_id", SIGNATURE_VECTORS)
@pytest.mark.parametrize("tamper", ["body", "signature"])
async def test_a_tampered_signature_vector_is_refused(
    client: httpx.AsyncClient, database: Database, vector_id: str, tamper: str
) -> None:
    vector = VECTORS[vector_id]
    credentials, body, headers = signed_delivery(vector)
    if tamper == "body":
        body += b"x"
    else:
        headers = {name: _flip(value) for name, value in headers.items()}
    channel = await make_channel(vector["platform"], credentials)
    response = await client.post(f"/webhooks/{vector['platform']}/{channel.id}", content=body, headers=headers)
    assert response.status_code == 401
    assert await RawEvent.count() == 0


async def test_the_wecom_url_check_vector_is_answered_with_its_plaintext(
    client: httpx.AsyncClient, database: Database
) -> None:
    inputs, expected = WECOM_URL_CHECK["inputs"], WECOM_URL_CHECK["expected"]
    channel = await make_channel("wecom", wecom_credentials(WECOM_URL_CHECK))
    query = {
        "msg_signature": expected["msg_signature"],
        "timestamp": inputs["timestamp"],
        "nonce": inputs["nonce"],
        "echostr": inputs["encrypt"],
    }
    response = await client.get(f"/webhooks/wecom/{channel.id}", params=query)
    assert response.status_code == 200
    assert response.text == "1288432023552776189"  # the echostr's plaintext (wecom.md b: printed by the sample)
    tampered = await client.get(f"/webhooks/wecom/{channel.id}", params=query | {"echostr": _flip(inputs["encrypt"])})
    assert tampered.status_code == 401


async def test_the_wecom_callback_vector_is_stored_and_becomes_its_plaintext_message(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    inputs, expected = WECOM_CALLBACK["inputs"], WECOM_CALLBACK["expected"]
    channel = await make_channel("wecom", wecom_credentials(WECOM_CALLBACK))
    body = (PLATFORMS / "samples" / "wecom_encrypted_callback.xml").read_bytes()
    assert inputs["encrypt"].encode() in body
    query = {"msg_signature": expected["msg_signature"], "timestamp": inputs["timestamp"], "nonce": inputs["nonce"]}
    tampered = await client.post(
        f"/webhooks/wecom/{channel.id}", content=body, params=query | {"msg_signature": _flip(query["msg_signature"])}
    )
    assert tampered.status_code == 401 and await RawEvent.count() == 0
    response = await client.post(f"/webhooks/wecom/{channel.id}", content=body, params=query)
    assert response.status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id == "1456453720"  # the MsgId of the vector's plaintext
    await drain(settings)
    [message] = await Message.find_all().to_list()
    assert message.text == "你好" and message.external_id == "1456453720"
    assert "<Content>你好</Content>" in expected["plaintext"]

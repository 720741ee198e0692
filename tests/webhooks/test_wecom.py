"""WeCom through the real ingress: the URL check, encrypted callbacks, and what the pipeline makes of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from scrm.db import Database
from scrm.models import Contact, Follow, FollowKind, Message, RawEvent
from scrm.settings import Settings
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import WECOM_CREDENTIALS, make_channel, wecom_delivery

FIXTURES = Path(__file__).parents[1] / "connectors" / "wecom" / "fixtures"
PLATFORMS = Path(__file__).parents[2] / ".." / "shared" / "platforms"
VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v for v in json.loads((PLATFORMS / "vectors.json").read_text(encoding="utf-8")) if v["platform"] == "wecom"
}
URL_CHECK = VECTORS["wecom-verify-url"]
ECHO = "1288432023552776189"  # what the published echostr decrypts to (wecom.md b: not stated in the source)
CUSTOMER = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"


def url_check_query(**changes: str) -> dict[str, str]:
    """The official sample's URL check (vector wecom-verify-url) as query parameters."""
    inputs = URL_CHECK["inputs"]
    query = {
        "msg_signature": URL_CHECK["expected"]["msg_signature"],
        "timestamp": inputs["timestamp"],
        "nonce": inputs["nonce"],
        "echostr": inputs["encrypt"],
    }
    return query | changes


def callback(name: str) -> tuple[bytes, dict[str, str]]:
    """A decrypted fixture encrypted for the sample corp, as WeCom posts it, with its signed query."""
    return wecom_delivery((FIXTURES / name).read_text(encoding="utf-8").strip())


async def test_the_url_check_answers_the_decrypted_echostr(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS)
    response = await client.get(f"/webhooks/wecom/{channel.id}", params=url_check_query())
    assert response.status_code == 200 and response.text == ECHO
    assert response.headers["content-type"].startswith("text/plain")


async def test_the_url_check_survives_a_plus_sent_unencoded(client: httpx.AsyncClient, database: Database) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS)
    query = urlencode(url_check_query(), safe="+/=")  # the `+` of the base64 echostr left raw: it reads as a space
    assert "+" in query
    response = await client.get(f"/webhooks/wecom/{channel.id}?{query}")
    assert response.status_code == 200 and response.text == ECHO


@pytest.mark.parametrize(
    ("changes", "credentials"),
    [
        ({"msg_signature": "0" * 40}, {}),
        ({"nonce": "47744684"}, {}),
        ({}, {"token": "another-token"}),
        ({}, {"corp_id": "ww0000000000000000"}),
        ({}, {"encoding_aes_key": "not-a-key"}),
    ],
    ids=["wrong-signature", "other-nonce", "other-token", "other-corp", "broken-key"],
)
async def test_the_url_check_is_refused_otherwise(
    client: httpx.AsyncClient, database: Database, changes: dict[str, str], credentials: dict[str, str]
) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS | credentials)
    response = await client.get(f"/webhooks/wecom/{channel.id}", params=url_check_query(**changes))
    assert response.status_code == 401
    assert ECHO not in response.text


async def test_a_callback_is_stored_under_its_decrypted_id_once_even_re_encrypted(
    client: httpx.AsyncClient, database: Database
) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS)
    body, query = callback("add_external_contact.xml")
    response = await client.post(f"/webhooks/wecom/{channel.id}", content=body, params=query)
    assert response.status_code == 200 and response.text == ""
    retry, retry_query = callback("add_external_contact.xml")  # a fresh random prefix: other ciphertext
    assert retry != body
    assert (await client.post(f"/webhooks/wecom/{channel.id}", content=retry, params=retry_query)).status_code == 200
    [raw] = await RawEvent.find_all().to_list()
    assert raw.event_id == f"sys:1767258000:change_external_contact:add_external_contact:zhangsan:{CUSTOMER}"
    assert raw.body == body


@pytest.mark.parametrize("tamper", ["body", "signature", "timestamp", "no-signature", "not-xml"])
async def test_a_tampered_callback_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, tamper: str
) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS)
    body, query = callback("add_external_contact.xml")
    if tamper == "body":
        body = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A")
    elif tamper == "signature":
        query["msg_signature"] = "0" * 40
    elif tamper == "timestamp":
        query["timestamp"] = "1779270001"
    elif tamper == "no-signature":
        del query["msg_signature"]
    else:
        body = b"\xff\xfe not xml"
    response = await client.post(f"/webhooks/wecom/{channel.id}", content=body, params=query)
    assert response.status_code == 401
    assert await RawEvent.count() == 0


async def test_an_external_contact_added_then_gone_becomes_a_follow_and_an_unfollow(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS)
    for name in ("add_external_contact.xml", "del_follow_user.xml"):
        body, query = callback(name)
        assert (await client.post(f"/webhooks/wecom/{channel.id}", content=body, params=query)).status_code == 200
    assert await drain(settings) == 2

    follows = {f.kind: f for f in await Follow.find_all().to_list()}
    added = follows[FollowKind.FOLLOW]
    assert added.source == "spring_poster" and added.platform == "wecom"
    contact = await Contact.get(added.contact_id)
    assert contact is not None and [i.key for i in contact.identities] == [f"wecom:{CUSTOMER}"]
    gone = follows[FollowKind.UNFOLLOW]
    assert gone.source == "deleted_by_customer" and gone.contact_id != contact.id
    assert await Message.count() == 0


async def test_a_members_text_message_becomes_a_message(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    channel = await make_channel("wecom", WECOM_CREDENTIALS)
    plain = VECTORS["wecom-decrypt-xml"]["expected"]["plaintext"]
    body, query = wecom_delivery(plain)
    assert (await client.post(f"/webhooks/wecom/{channel.id}", content=body, params=query)).status_code == 200
    await drain(settings)
    [message] = await Message.find_all().to_list()
    assert (message.external_id, message.text) == ("1456453720", "你好")
    contact = await Contact.get(message.contact_id)
    assert contact is not None and contact.identities[0].key == "wecom:ChenJiaShun"

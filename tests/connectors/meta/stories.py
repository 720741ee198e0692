"""What the Meta stories share: the channel, signed deliveries as Meta sends them, and running the pipeline.

Payload shapes are those of the fixtures beside this file (Messenger and Instagram ``messaging[]`` events,
Page ``feed`` and Instagram ``comments`` changes, WhatsApp ``messages`` values with ``statuses``), built with
the times a story needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context
from tests.connectors.meta.graph_server import GraphServer
from tests.platform_fakes import META_CREDENTIALS, meta_headers
from tests.platform_fakes import TestChannel as StoredChannel
from tests.story_fixtures import deliver_round

PAGE_ID = META_CREDENTIALS["page_id"]
INSTAGRAM_ID = META_CREDENTIALS["instagram_account_id"]
PHONE_NUMBER_ID = META_CREDENTIALS["whatsapp_phone_number_id"]
WABA_ID = "102290129340398"
CREDENTIALS = {
    **META_CREDENTIALS,
    "page_access_token": "PAGE-TOKEN-1",
    "whatsapp_token": "WA-TOKEN-1",
    "whatsapp_business_account_id": WABA_ID,
}
CAMILLE = ("1254459154682919", "Camille Martin")
"""A person on Messenger and on the Page's posts (one page-scoped id)."""
NOOR = ("1914016168758395", "noor.designs")
"""A person on Instagram (IGSID, username)."""
SHEENA = ("16505551234", "Sheena Nelson")
"""A person on WhatsApp (wa_id, profile name)."""


def graph_server(now: datetime) -> GraphServer:
    """The Graph API of the story's Page, Instagram account and WhatsApp number, accepting the channel's tokens."""
    tokens = {CREDENTIALS["page_access_token"], CREDENTIALS["whatsapp_token"]}
    return GraphServer(PAGE_ID, INSTAGRAM_ID, PHONE_NUMBER_ID, WABA_ID, tokens, now=now)


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def seconds(at: datetime) -> int:
    return int(at.timestamp())


def messaging(kind: str, event: dict[str, Any], at: datetime) -> bytes:
    """A ``page`` (Messenger) or ``instagram`` delivery with one ``messaging[]`` event."""
    own = PAGE_ID if kind == "page" else INSTAGRAM_ID
    return json.dumps({"object": kind, "entry": [{"id": own, "time": millis(at), "messaging": [event]}]}).encode()


def message_in(kind: str, user: str, mid: str, text: str, at: datetime) -> bytes:
    """A person's message to the Page (``kind`` ``page``) or the Instagram account (``instagram``)."""
    own = PAGE_ID if kind == "page" else INSTAGRAM_ID
    event = {
        "sender": {"id": user},
        "recipient": {"id": own},
        "timestamp": millis(at),
        "message": {"mid": mid, "text": text},
    }
    return messaging(kind, event, at)


def delivered(user: str, mids: list[str], at: datetime) -> bytes:
    """Messenger ``message_deliveries``: these mids, and everything before the watermark, were delivered."""
    event = {"sender": {"id": user}, "recipient": {"id": PAGE_ID}, "delivery": {"mids": mids, "watermark": millis(at)}}
    return messaging("page", event, at)


def read(user: str, at: datetime) -> bytes:
    """Messenger ``message_reads``: everything sent before the watermark was read."""
    event = {
        "sender": {"id": user},
        "recipient": {"id": PAGE_ID},
        "timestamp": millis(at),
        "read": {"watermark": millis(at)},
    }
    return messaging("page", event, at)


def feed_comment(comment_id: str, post_id: str, who: tuple[str, str], text: str, at: datetime) -> bytes:
    """A Page ``feed`` change: someone commented on the Page's post."""
    value = {
        "from": {"id": who[0], "name": who[1]},
        "message": text,
        "post_id": post_id,
        "comment_id": comment_id,
        "created_time": seconds(at),
        "item": "comment",
        "parent_id": post_id,
        "verb": "add",
    }
    entry = {"id": PAGE_ID, "time": seconds(at), "changes": [{"field": "feed", "value": value}]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def instagram_comment(comment_id: str, media_id: str, who: tuple[str, str], text: str, at: datetime) -> bytes:
    """An Instagram ``comments`` change (it carries no time: the entry's ``time`` dates it)."""
    value = {
        "from": {"id": who[0], "username": who[1]},
        "media": {"id": media_id, "media_product_type": "FEED"},
        "id": comment_id,
        "text": text,
    }
    entry = {"id": INSTAGRAM_ID, "time": seconds(at), "changes": [{"field": "comments", "value": value}]}
    return json.dumps({"object": "instagram", "entry": [entry]}).encode()


def whatsapp(value: dict[str, Any]) -> bytes:
    """A ``whatsapp_business_account`` delivery with one ``messages`` change."""
    metadata = {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [change]}]}).encode()


def whatsapp_text(who: tuple[str, str], wamid: str, text: str, at: datetime) -> bytes:
    """A person's text on WhatsApp (the documented example's shape, meta.md a)."""
    message = {"from": who[0], "id": wamid, "timestamp": str(seconds(at)), "type": "text", "text": {"body": text}}
    return whatsapp({"contacts": [{"profile": {"name": who[1]}, "wa_id": who[0]}], "messages": [message]})


def whatsapp_status(wamid: str, status: str, at: datetime, errors: list[dict[str, Any]] | None = None) -> bytes:
    """A WhatsApp status report on a message we sent: ``sent``, ``delivered``, ``read`` or ``failed``."""
    report: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(seconds(at)), "recipient_id": SHEENA[0]}
    if errors:
        report["errors"] = errors
    return whatsapp({"statuses": [report]})


async def deliver(client: httpx.AsyncClient, channel_id: object, body: bytes, settings: Settings) -> None:
    """Post a signed delivery to the channel's webhook and run the pipeline until nothing is pending."""
    response = await client.post(f"/webhooks/meta/{channel_id}", content=body, headers=meta_headers(body))
    assert response.status_code == 200, response.text
    context = pipeline_context(settings, lambda: datetime.now(UTC))
    while await drain_raw_events(context):
        pass


@dataclass(frozen=True)
class Story:
    """One Meta channel's story through the product: signed deliveries in, the API as the channel's admin, the
    outbox out to ``graph``."""

    client: httpx.AsyncClient
    settings: Settings
    graph: GraphServer
    channel: StoredChannel
    headers: dict[str, str]
    http: httpx.AsyncClient
    start: datetime

    async def receive(self, body: bytes) -> None:
        """Meta posts ``body`` to the channel's webhook; the pipeline records it."""
        await deliver(self.client, self.channel.id, body, self.settings)

    async def get(self, url: str, **params: str) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.headers)

    async def post(self, url: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(url, json=body, headers=self.headers)

    async def only_conversation(self) -> dict[str, Any]:
        [conversation] = (await self.get("/api/v1/conversations")).json()["items"]
        return dict(conversation)

    async def thread(self, conversation_id: str) -> list[dict[str, Any]]:
        """A conversation's messages through the API, oldest first."""
        found = await self.get(f"/api/v1/conversations/{conversation_id}/messages")
        return list(reversed(found.json()["items"]))

    async def reply(self, conversation_id: str, key: str, **body: Any) -> httpx.Response:
        return await self.post(f"/api/v1/conversations/{conversation_id}/replies", {"idempotency_key": key, **body})

    async def send_queued(self) -> int:
        """One delivery round, as the worker runs it."""
        return await deliver_round(self.http)

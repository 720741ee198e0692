"""What the connector stories share: a platform's side of HTTP mounted for the test, and the story of a channel
through the product (a signed webhook in, the worker's pipeline, an agent's reply through the API, the outbox)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import httpx
import respx

from scrm.delivery import deliver_due
from scrm.models import Conversation
from scrm.settings import Settings
from tests.delivery_fixtures import delivery
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import TestChannel as StoredChannel


class PlatformFake(Protocol):
    """A platform's side of HTTP that answers the routes it mounts."""

    def mount(self, router: respx.MockRouter) -> object: ...


Fake = TypeVar("Fake", bound=PlatformFake)


@contextmanager
def mounted(server: Fake) -> Iterator[Fake]:
    """``server`` answering its platform's routes while the test runs; a call to any other host fails the test."""
    with respx.mock(assert_all_called=False) as router:
        server.mount(router)
        yield server


async def deliver_round(http: httpx.AsyncClient, at: datetime | None = None) -> int:
    """One round of the outbox at ``at`` (now by default), as the worker runs it; returns the rows it handled."""
    now = at or datetime.now(UTC)
    return await deliver_due(delivery(http, now), now)


@dataclass(frozen=True)
class ChannelStory:
    """One channel's story through the product: the platform's signed webhook in, the worker's pipeline, the API
    as the workspace's admin, and the outbox out through ``http``."""

    client: httpx.AsyncClient
    settings: Settings
    channel: StoredChannel
    headers: dict[str, str]
    http: httpx.AsyncClient

    async def receive(self, body: bytes, signed: dict[str, str]) -> None:
        """The platform posts ``body`` with its ``signed`` headers to the channel's webhook; the pipeline records it."""
        url = f"/webhooks/{self.channel.platform}/{self.channel.id}"
        response = await self.client.post(url, content=body, headers=signed)
        assert response.status_code == 200
        await drain(self.settings)

    async def get(self, url: str) -> httpx.Response:
        """``url`` of the API, as the admin."""
        return await self.client.get(url, headers=self.headers)

    async def reply(self, conversation: Conversation, text: str, key: str) -> str:
        """An agent replies through the API, which must accept it; returns the outbox row's id."""
        url = f"/api/v1/conversations/{conversation.id}/replies"
        response = await self.client.post(url, json={"text": text, "idempotency_key": key}, headers=self.headers)
        assert response.status_code == 201, response.text
        row_id: str = response.json()["id"]
        return row_id

    async def deliver(self, at: datetime | None = None) -> int:
        """One round of the outbox, as the worker runs it."""
        return await deliver_round(self.http, at)

    async def conversation(self) -> Conversation:
        """The channel's conversation (the stories have one customer a channel)."""
        found = await Conversation.find_one(Conversation.channel_id == self.channel.id)
        assert found is not None
        return found

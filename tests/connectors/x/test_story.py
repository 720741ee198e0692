"""X end to end: a signed Account Activity DM in through the ingress, the agent's reply out through the outbox.

The reply is one OAuth 1.0a-signed DM, sent exactly once; X's ``x-rate-limit-*`` headers hold the next DM until
the window resets (no call spent on a 429), a 429 backs off until ``x-rate-limit-reset``, and a revoked token
marks the channel unhealthy until it is re-authorised. Only X's side of HTTP is faked (``x_server``).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from scrm.channel_access import ChannelDirectory
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.connectors.x import X
from scrm.db import Database
from scrm.delivery import DeliveryContext, deliver_due
from scrm.models import Channel, ChannelStatus, Contact, Conversation, OutboundMessage, OutboundStatus
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore
from scrm.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.connectors.memory import FakeClock
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import X_CREDENTIALS, api_headers, make_channel, x_headers
from tests.platform_fakes import TestChannel as StoredChannel

from .x_server import XServer

JORDAN = "3001969357"


@pytest.fixture
def clock() -> FakeClock:
    """X's time and the connector's, a minute ahead of the app's (so rows queued now are due); the test moves it
    past a rate-limit reset."""
    return FakeClock(datetime.now(UTC) + timedelta(minutes=1))


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XServer]:
    """X's side of HTTP for the app and the channel's account, with one customer."""
    creds = X_CREDENTIALS
    server = XServer(
        creds["consumer_key"],
        creds["consumer_secret"],
        creds["access_token"],
        creds["access_token_secret"],
        creds["bearer_token"],
        creds["user_id"],
        clock=lambda: clock.now().timestamp(),
    )
    server.add_user(JORDAN, "Jordan Brinks", "furiouscamper")
    with respx.mock(assert_all_called=False) as router:
        server.mount(router)
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


@pytest.fixture
def outbox(http: httpx.AsyncClient, clock: FakeClock) -> DeliveryContext:
    """The worker's delivery context, kept across rounds as a worker keeps it; X's connector reads the clock."""
    box = SecretBox.from_secret_key(TEST_SECRET_KEY)
    tokens = MongoTokenStore(box, clock.now)
    lookups = itertools.count(step=3600)  # each lookup comes after the cache's few seconds: re-authorising shows
    directory = ChannelDirectory(box, clock=lambda: float(next(lookups)))
    context = DeliveryContext(directory, tokens, http, ChannelBuckets(SystemClock()), clock.now)
    context._connectors["x"] = X(tokens, clock)
    return context


async def receive_dm(
    client: httpx.AsyncClient, settings: Settings, channel: StoredChannel, x: XServer, text: str, event_id: str
) -> Conversation:
    body = json.dumps(x.dm_event(JORDAN, text, event_id)).encode()
    response = await client.post(f"/webhooks/x/{channel.id}", content=body, headers=x_headers(body))
    assert response.status_code == 200
    await drain(settings)
    found = await Conversation.find_one(Conversation.channel_id == channel.id)
    assert found is not None and found.external_id == JORDAN
    return found


async def reply(client: httpx.AsyncClient, headers: dict[str, str], conversation: Conversation, text: str) -> str:
    url = f"/api/v1/conversations/{conversation.id}/replies"
    response = await client.post(url, json={"text": text, "idempotency_key": f"x-{uuid.uuid4().hex}"}, headers=headers)
    assert response.status_code == 201, response.text
    row_id: str = response.json()["id"]
    return row_id


async def row(row_id: str) -> OutboundMessage:
    found = await OutboundMessage.get(row_id)
    assert found is not None
    return found


async def test_a_dm_is_answered_once_with_a_signed_dm_and_shows_in_the_conversation(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    x: XServer,
    outbox: DeliveryContext,
    clock: FakeClock,
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    conversation = await receive_dm(client, settings, channel, x, "Do you ship to Osaka?", "954491830116155396")
    headers = await api_headers(channel.workspace_id)
    row_id = await reply(client, headers, conversation, "Yes, in 3 to 5 days.")

    assert await deliver_due(outbox, clock.now()) == 1
    assert await deliver_due(outbox, clock.now()) == 0

    [(recipient, text, dm_event_id)] = x.dms  # accepted only with a valid OAuth 1.0a signature
    assert (recipient, text) == (JORDAN, "Yes, in 3 to 5 days.")
    sent = await row(row_id)
    assert sent.status is OutboundStatus.SENT and sent.external_id == dm_event_id
    thread = (await client.get(f"/api/v1/conversations/{conversation.id}/messages", headers=headers)).json()
    assert sorted((m["direction"], m["text"]) for m in thread["items"]) == [
        ("inbound", "Do you ship to Osaka?"),
        ("outbound", "Yes, in 3 to 5 days."),
    ]
    outbound = next(m for m in thread["items"] if m["direction"] == "outbound")
    assert outbound["external_id"] == dm_event_id
    contact = await Contact.get(conversation.contact_id)
    assert contact is not None and contact.name == "Jordan Brinks"


async def test_an_empty_dm_window_holds_the_next_dm_until_its_reset_and_a_429_backs_off_until_reset(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    x: XServer,
    outbox: DeliveryContext,
    clock: FakeClock,
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    conversation = await receive_dm(client, settings, channel, x, "Hi!", "954491830116155397")
    headers = await api_headers(channel.workspace_id)
    x.use_up("dm", reset_in=600)
    x.windows["dm"].remaining = 1  # one DM left in this window
    first = await reply(client, headers, conversation, "Hello Jordan.")
    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(first)).status is OutboundStatus.SENT

    second = await reply(client, headers, conversation, "Anything else?")
    assert await deliver_due(outbox, clock.now()) == 1
    held = await row(second)
    dm_calls = [call for call, _ in x.calls if call == "dm"]
    assert len(dm_calls) == 1  # the answer said none was left: no call was spent on a sure 429
    assert held.status is OutboundStatus.QUEUED and held.not_before is not None
    reset = datetime.fromtimestamp(x.windows["dm"].reset, UTC)
    assert reset - timedelta(seconds=1) <= held.not_before <= reset + timedelta(seconds=1)

    clock.advance(601)  # the window resets
    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(second)).status is OutboundStatus.SENT
    assert [text for _, text, _ in x.dms] == ["Hello Jordan.", "Anything else?"]

    x.use_up("dm", reset_in=300)  # another client of the account spent the window: X answers 429
    third = await reply(client, headers, conversation, "We are here until 18:00.")
    fresh = DeliveryContext(outbox.channels, outbox.tokens, outbox.http, outbox.buckets, clock.now)
    fresh._connectors["x"] = X(outbox.tokens, clock)  # a worker that has not seen the window run out
    assert await deliver_due(fresh, clock.now()) == 1
    backed_off = await row(third)
    assert backed_off.status is OutboundStatus.QUEUED and backed_off.error.startswith("rate limited by the platform")
    assert backed_off.not_before is not None
    assert backed_off.not_before >= clock.now() + timedelta(seconds=299)
    clock.advance(301)
    assert await deliver_due(fresh, clock.now()) == 1
    assert (await row(third)).status is OutboundStatus.SENT and len(x.dms) == 3


async def test_a_revoked_token_marks_the_channel_unhealthy_and_the_dm_waits_for_reauthorisation(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    x: XServer,
    outbox: DeliveryContext,
    clock: FakeClock,
    http: httpx.AsyncClient,
) -> None:
    channel = await make_channel("x", X_CREDENTIALS)
    conversation = await receive_dm(client, settings, channel, x, "Still there?", "954491830116155398")
    headers = await api_headers(channel.workspace_id)
    row_id = await reply(client, headers, conversation, "Yes!")
    x.revoked = True

    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(row_id)).status is OutboundStatus.QUEUED and x.dms == []
    shown = (await client.get(f"/api/v1/channels/{channel.id}", headers=headers)).json()
    assert shown["status"] == "unhealthy"
    assert shown["status_reason"].startswith("x: the bearer token or the account's access token is invalid or revoked")
    connector = X(outbox.tokens, clock)
    assert (await connector.check_credentials(http, X_CREDENTIALS) or "").startswith("x: the bearer token")

    x.reauthorise("4337869213-renewed", "renewed-secret", "renewed-bearer")
    renewed = {"access_token": "4337869213-renewed", "access_token_secret": "renewed-secret"}
    renewed |= {"bearer_token": "renewed-bearer"}
    response = await client.patch(f"/api/v1/channels/{channel.id}", json={"credentials": renewed}, headers=headers)
    assert response.status_code == 200
    assert await connector.check_credentials(http, {**X_CREDENTIALS, **renewed}) is None
    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(row_id)).status is OutboundStatus.SENT and [t for _, t, _ in x.dms] == ["Yes!"]
    stored = await Channel.get(channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE

"""X end to end: a signed Account Activity DM in through the ingress, the agent's reply out through the outbox.

The reply is one OAuth 1.0a-signed DM, sent exactly once; X's ``x-rate-limit-*`` headers hold the next DM until
the window resets (no call spent on a 429), a 429 backs off until ``x-rate-limit-reset``, and a revoked token
marks the channel unhealthy until it is re-authorised. Only X's side of HTTP is faked (``x_server``).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from scrm.channel_access import ChannelDirectory
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.connectors.x import X
from scrm.db import Database
from scrm.delivery import DeliveryContext, deliver_due
from scrm.models import Channel, ChannelStatus, Contact, Conversation, OutboundMessage, OutboundStatus
from scrm.models.sealed import SecretBox
from scrm.platform_state import MongoTokenStore
from tests.conftest import TEST_SECRET_KEY
from tests.connectors.memory import FakeClock
from tests.platform_fakes import X_CREDENTIALS, make_channel, x_headers
from tests.platform_fakes import TestChannel as StoredChannel
from tests.story_fixtures import ChannelStory, mounted

from .x_server import XServer, channel_server

JORDAN = "3001969357"


@pytest.fixture
def clock() -> FakeClock:
    """X's time and the connector's, a minute ahead of the app's (so rows queued now are due); the test moves it
    past a rate-limit reset."""
    return FakeClock(datetime.now(UTC) + timedelta(minutes=1))


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XServer]:
    """X's side of HTTP for the app and the channel's account, with one customer."""
    server = channel_server(lambda: clock.now().timestamp())
    server.add_user(JORDAN, "Jordan Brinks", "furiouscamper")
    with mounted(server):
        yield server


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


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("x", X_CREDENTIALS)


async def receive_dm(story: ChannelStory, x: XServer, text: str, event_id: str) -> Conversation:
    """X posts Jordan's DM, signed with the app's consumer secret; the worker's pipeline records it."""
    body = json.dumps(x.dm_event(JORDAN, text, event_id)).encode()
    await story.receive(body, x_headers(body))
    found = await story.conversation()
    assert found.external_id == JORDAN
    return found


async def reply(story: ChannelStory, conversation: Conversation, text: str) -> str:
    return await story.reply(conversation, text, f"x-{uuid.uuid4().hex}")


async def row(row_id: str) -> OutboundMessage:
    found = await OutboundMessage.get(row_id)
    assert found is not None
    return found


async def test_a_dm_is_answered_once_with_a_signed_dm_and_shows_in_the_conversation(
    story: ChannelStory, x: XServer, outbox: DeliveryContext, clock: FakeClock
) -> None:
    conversation = await receive_dm(story, x, "Do you ship to Osaka?", "954491830116155396")
    row_id = await reply(story, conversation, "Yes, in 3 to 5 days.")

    assert await deliver_due(outbox, clock.now()) == 1
    assert await deliver_due(outbox, clock.now()) == 0

    [(recipient, text, dm_event_id)] = x.dms  # accepted only with a valid OAuth 1.0a signature
    assert (recipient, text) == (JORDAN, "Yes, in 3 to 5 days.")
    sent = await row(row_id)
    assert sent.status is OutboundStatus.SENT and sent.external_id == dm_event_id
    thread = (await story.get(f"/api/v1/conversations/{conversation.id}/messages")).json()
    assert sorted((m["direction"], m["text"]) for m in thread["items"]) == [
        ("inbound", "Do you ship to Osaka?"),
        ("outbound", "Yes, in 3 to 5 days."),
    ]
    outbound = next(m for m in thread["items"] if m["direction"] == "outbound")
    assert outbound["external_id"] == dm_event_id
    contact = await Contact.get(conversation.contact_id)
    assert contact is not None and contact.name == "Jordan Brinks"


async def test_an_empty_dm_window_holds_the_next_dm_until_its_reset_and_a_429_backs_off_until_reset(
    story: ChannelStory, x: XServer, outbox: DeliveryContext, clock: FakeClock
) -> None:
    conversation = await receive_dm(story, x, "Hi!", "954491830116155397")
    x.use_up("dm", reset_in=600)
    x.windows["dm"].remaining = 1  # one DM left in this window
    first = await reply(story, conversation, "Hello Jordan.")
    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(first)).status is OutboundStatus.SENT

    second = await reply(story, conversation, "Anything else?")
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
    third = await reply(story, conversation, "We are here until 18:00.")
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
    story: ChannelStory, x: XServer, outbox: DeliveryContext, clock: FakeClock
) -> None:
    conversation = await receive_dm(story, x, "Still there?", "954491830116155398")
    row_id = await reply(story, conversation, "Yes!")
    x.revoked = True

    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(row_id)).status is OutboundStatus.QUEUED and x.dms == []
    shown = (await story.get(f"/api/v1/channels/{story.channel.id}")).json()
    assert shown["status"] == "unhealthy"
    assert shown["status_reason"].startswith("x: the bearer token or the account's access token is invalid or revoked")
    connector = X(outbox.tokens, clock)
    assert (await connector.check_credentials(story.http, X_CREDENTIALS) or "").startswith("x: the bearer token")

    x.reauthorise("4337869213-renewed", "renewed-secret", "renewed-bearer")
    renewed = {"access_token": "4337869213-renewed", "access_token_secret": "renewed-secret"}
    renewed |= {"bearer_token": "renewed-bearer"}
    response = await story.client.patch(
        f"/api/v1/channels/{story.channel.id}", json={"credentials": renewed}, headers=story.headers
    )
    assert response.status_code == 200
    assert await connector.check_credentials(story.http, {**X_CREDENTIALS, **renewed}) is None
    assert await deliver_due(outbox, clock.now()) == 1
    assert (await row(row_id)).status is OutboundStatus.SENT and [t for _, t, _ in x.dms] == ["Yes!"]
    stored = await Channel.get(story.channel.id)
    assert stored is not None and stored.status is ChannelStatus.ACTIVE

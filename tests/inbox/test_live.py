"""The live inbox: the hub's change stream routes changes by workspace and reach and coalesces them, and
`/inbox/events` streams `inbox-changed` when a delivery goes through the real ingress and pipeline."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import uvicorn
from beanie import PydanticObjectId
from litestar import Litestar

from scrm.app import create_app
from scrm.auth.accounts import add_member, create_user
from scrm.auth.roles import Principal
from scrm.db import Database
from scrm.inbox.live import MAX_PENDING, Change, InboxHub, Subscription
from scrm.models import Channel, Contact, Conversation, Role, WorkspaceScope
from scrm.settings import Settings
from scrm.web.inbox.live_events import EVENT, EVERYTHING
from tests.auth.conftest import PASSWORD
from tests.auth.forms import log_in
from tests.inbox.conftest import Inbox
from tests.pipeline.test_webhook_story import drain
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel, telegram_headers, telegram_update

WAIT = 30.0
"""A bound on waiting for something that must come (a failure, not a measure)."""


def principal(inbox: Inbox, role: Role, channels: list[PydanticObjectId] | None = None) -> Principal:
    """Someone of the inbox's workspace."""
    return Principal(inbox.scope.workspace_id, role, "test", channel_ids=frozenset(channels or []))


async def new_conversation(scope: WorkspaceScope, channel: Channel, name: str) -> Conversation:
    """A contact and their conversation on `channel`, inserted as the pipeline would."""
    assert channel.id is not None
    contact = await scope.insert(Contact(workspace_id=scope.workspace_id, name=name))
    assert contact.id is not None
    return await scope.insert(
        Conversation(
            workspace_id=scope.workspace_id,
            channel_id=channel.id,
            contact_id=contact.id,
            platform=channel.platform,
            external_id=f"{name}-thread",
            last_message_at=datetime.now(UTC),
        )
    )


async def batch_of(subscription: Subscription) -> list[PydanticObjectId]:
    """The subscriber's next batch, which must come."""
    batch = await subscription.next_batch(within=WAIT)
    assert batch is not None, "no change arrived"
    return batch


async def test_a_change_reaches_its_workspace_only(database: Database, inbox: Inbox) -> None:
    hub = InboxHub(Conversation.get_pymongo_collection())
    other_scope = WorkspaceScope(PydanticObjectId())
    other = await other_scope.insert(Channel(workspace_id=other_scope.workspace_id, platform="telegram", name="Other"))
    stranger = Principal(other.workspace_id, Role.OWNER, "test")
    try:
        async with (
            hub.subscribe(principal(inbox, Role.ADMIN)) as mine,
            hub.subscribe(stranger) as theirs,
        ):
            assert hub.mode == "change stream" and hub.subscribers == 2
            ours = await new_conversation(inbox.scope, inbox.telegram, "Ada")
            later = await new_conversation(other_scope, other, "Bo")  # after ours in the stream
            assert await batch_of(mine) == [ours.id]
            assert await batch_of(theirs) == [later.id]  # ours was routed first and did not reach them
            await inbox.scope.find(Conversation, {"_id": ours.id}).update({"$set": {"status": "resolved"}})
            assert await batch_of(mine) == [ours.id]
        assert hub.subscribers == 0
    finally:
        await hub.stop()


async def test_an_agent_gets_only_the_conversations_in_reach(database: Database, inbox: Inbox) -> None:
    hub = InboxHub(Conversation.get_pymongo_collection())
    assert inbox.telegram.id is not None
    try:
        async with hub.subscribe(principal(inbox, Role.AGENT, [inbox.telegram.id])) as agent:
            out_of_reach = await new_conversation(inbox.scope, inbox.wechat, "Wei")
            in_reach = await new_conversation(inbox.scope, inbox.telegram, "Tom")
            assert await batch_of(agent) == [in_reach.id]
            # a label on the WeChat conversation, then an unread count on Mia's (Telegram): only Mia's comes
            await inbox.scope.find(Conversation, {"_id": out_of_reach.id}).update({"$push": {"labels": "vip"}})
            await inbox.scope.find(Conversation, {"_id": inbox.oid("Mia")}).update({"$inc": {"unread_count": 1}})
            assert await batch_of(agent) == [inbox.oid("Mia")]
    finally:
        await hub.stop()


async def test_an_update_of_an_unwatched_field_is_not_sent(database: Database, inbox: Inbox) -> None:
    hub = InboxHub(Conversation.get_pymongo_collection())
    try:
        async with hub.subscribe(principal(inbox, Role.OWNER)) as owner:
            await inbox.scope.find(Conversation, {"_id": inbox.oid("Li")}).update({"$set": {"reply_token": "x"}})
            await inbox.scope.find(Conversation, {"_id": inbox.oid("Sam")}).update({"$set": {"assignee_id": None}})
            await inbox.scope.find(Conversation, {"_id": inbox.oid("Mia")}).update({"$set": {"status": "pending"}})
            # the reply token is not watched, Sam's assignee was already empty (no change); Mia's status is watched
            assert await batch_of(owner) == [inbox.oid("Mia")]
    finally:
        await hub.stop()


async def test_a_burst_becomes_one_batch_and_a_flood_one_refresh(database: Database, inbox: Inbox) -> None:
    hub = InboxHub(Conversation.get_pymongo_collection())
    workspace = inbox.scope.workspace_id
    try:
        async with hub.subscribe(principal(inbox, Role.OWNER)) as owner:
            burst = [PydanticObjectId() for _ in range(5)]
            for oid in burst + burst:  # each twice
                hub.publish(Change(oid, workspace, inbox.telegram.id))
            assert await batch_of(owner) == sorted(burst)
            first, second = PydanticObjectId(), PydanticObjectId()
            hub.publish(Change(first, workspace, inbox.telegram.id))
            hub.publish(Change(second, workspace, inbox.telegram.id))
            assert await batch_of(owner) == sorted([first, second])
            for _ in range(10 * MAX_PENDING):  # a reader that does not keep up holds a bounded set
                hub.publish(Change(PydanticObjectId(), workspace, inbox.telegram.id))
            assert len(owner.pending) <= MAX_PENDING and owner.overflow
            assert await batch_of(owner) == []  # "too many to name": refresh everything
            assert await owner.next_batch(within=0.05) is None  # and nothing is left over
    finally:
        await hub.stop()


async def test_without_change_streams_the_hub_polls_for_new_messages(database: Database, inbox: Inbox) -> None:
    hub = InboxHub(Conversation.get_pymongo_collection(), watch=False, poll_seconds=0.1)
    assert inbox.telegram.id is not None
    try:
        async with hub.subscribe(principal(inbox, Role.AGENT, [inbox.telegram.id])) as agent:
            assert hub.mode == "polling"
            newest = datetime.now(UTC)
            for name in ("Li", "Mia"):  # Li is on WeChat, out of the agent's reach
                await inbox.scope.find(Conversation, {"_id": inbox.oid(name)}).update(
                    {"$set": {"last_message_at": newest}}
                )
            assert await batch_of(agent) == [inbox.oid("Mia")]
    finally:
        await hub.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def uvicorn_serving(app: Litestar) -> AsyncIterator[str]:
    """The app served by uvicorn in this event loop (so that it streams), its lifespan included; yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def next_event(lines: AsyncIterator[str]) -> tuple[str, str]:
    """The next event's type and data (comments and keep-alives skipped)."""
    event, data = "", ""
    async for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = line.removeprefix("data:").strip()
        elif line == "" and event:
            return event, data
    raise AssertionError("the stream ended")


async def test_a_delivery_through_the_pipeline_is_streamed_to_the_signed_in_owner(
    settings: Settings, database: Database
) -> None:
    channel = await make_channel("telegram", TELEGRAM_CREDENTIALS)
    now = datetime.now(UTC)
    user = await create_user("owner@example.com", PASSWORD, now)
    await add_member(channel.workspace_id, user, Role.OWNER, now, actor="test")
    async with (
        uvicorn_serving(create_app(settings, webhooks=True)) as url,
        httpx.AsyncClient(base_url=url, timeout=WAIT) as web,
    ):
        assert (await log_in(web, "owner@example.com", PASSWORD, "/inbox")).status_code in (200, 303)
        page = await web.get("/inbox", headers={"accept": "text/html"})
        assert 'sse-connect="/inbox/events"' in page.text and "/static/vendor/htmx-ext-sse/sse.min.js" in page.text
        async with web.stream("GET", "/inbox/events", headers={"accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(":")  # the opening comment: subscribed, the stream is open
            body = telegram_update(7001, "Is my parcel on its way?")
            answer = await web.post(f"/webhooks/telegram/{channel.id}", content=body, headers=telegram_headers())
            assert answer.status_code == 200
            assert await drain(settings) == 1
            conversation = await Conversation.find_one(Conversation.channel_id == channel.id)
            assert conversation is not None
            assert await asyncio.wait_for(next_event(lines), WAIT) == (EVENT, str(conversation.id))
        listed = await web.get("/inbox/list", headers={"hx-request": "true"})
        assert "Is my parcel on its way?" in listed.text  # what the event makes the page re-fetch
        async with web.stream("GET", "/inbox/events", headers={"last-event-id": "live"}) as again:
            # a page reconnecting after a drop refreshes at once: it may have missed changes meanwhile
            assert await asyncio.wait_for(next_event(again.aiter_lines()), WAIT) == (EVENT, EVERYTHING)


async def test_the_event_stream_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    page = await client.get("/inbox/events")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    htmx = await client.get("/inbox/events", headers={"hx-request": "true"})
    assert htmx.status_code == 401

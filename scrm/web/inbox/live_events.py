"""`GET /inbox/events`: server-sent events telling an open inbox page that a conversation in its reach changed.

Why server-sent events and not faster polling: the goal is a new message on screen within 2 s of ingestion.
A poll every N seconds adds N/2 on average and N at worst before the page even asks, so it takes a 1 s poll
(a list query per tab per second) to get close. With events the page asks only when something changed: one
change stream per process (`scrm.inbox.live`) feeds every tab, and a tab re-fetches the same server-rendered
fragment as before. The list and the thread keep a slow poll as a fallback for when the stream is down.

Each event is `inbox-changed` with a conversation id as data (`*` when too many changed to name); a comment
every KEEP_ALIVE_SECONDS keeps proxies from closing an idle connection. The stream ends when the browser goes
away (the server cancels the generator), and on its own after MAX_STREAM_SECONDS: uvicorn lets open responses
finish before it stops an app, so an endless stream would hold up every shutdown; and a reconnecting browser
is checked again (a member removed from a workspace or a channel stops getting events). The browser reconnects
by itself after RETRY_MS; the opening message carries an `id`, so a reconnecting browser sends `Last-Event-ID`
and gets a `*` at once, covering what changed while it was away.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar import Controller, Litestar, Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from scrm.auth.roles import Principal
from scrm.inbox.live import InboxHub, hub_of, stopping_hub
from scrm.models import Conversation
from scrm.web.inbox.pages import principal_of

EVENT = "inbox-changed"
EVERYTHING = "*"
KEEP_ALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 45.0
RETRY_MS = 1000
"""How long a browser waits before reconnecting a dropped or ended stream."""


def live_lifespan(app: Litestar) -> AbstractAsyncContextManager[None]:
    """Stop the process's inbox hub (if a page started it) when the app stops."""
    return stopping_hub(app.state)


def inbox_hub(request: Request[Any, Any, Any]) -> InboxHub:
    """The process's hub, on the app's state."""
    return hub_of(request.app.state, Conversation.get_pymongo_collection)


async def inbox_events(
    hub: InboxHub, principal: Principal, *, reconnected: bool = False, lasting: float = MAX_STREAM_SECONDS
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The events for one reader for `lasting` seconds: an opening message at once (the stream is open), `*` if
    the browser is reconnecting, then changes and keep-alives."""
    async with hub.subscribe(principal) as subscription:
        yield ServerSentEventMessage(comment="live", retry=RETRY_MS, id="live")
        if reconnected:
            yield ServerSentEventMessage(event=EVENT, data=EVERYTHING)
        ends = time.monotonic() + lasting
        while (left := ends - time.monotonic()) > 0:
            batch = await subscription.next_batch(within=min(KEEP_ALIVE_SECONDS, left))
            if batch is None:
                yield ServerSentEventMessage(comment="keep-alive")
            elif not batch:
                yield ServerSentEventMessage(event=EVENT, data=EVERYTHING)
            else:
                for conversation_id in batch:
                    yield ServerSentEventMessage(event=EVENT, data=str(conversation_id))


class InboxEventsController(Controller):
    """The inbox's event stream."""

    path = "/inbox/events"
    include_in_schema = False

    @get("/", name="inbox_events")
    async def events(self, request: Request[Any, Any, Any]) -> ServerSentEvent:
        """Changes to the conversations the signed-in user may see, as they happen."""
        principal = principal_of(request)
        return ServerSentEvent(
            inbox_events(inbox_hub(request), principal, reconnected="last-event-id" in request.headers),
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

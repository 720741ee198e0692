"""The live inbox: one watch on the conversations per process, fanned out to the open inbox pages.

`InboxHub` opens **one** MongoDB change stream per process (started by its first subscriber) on the
conversations collection, filtered on the server to inserts and to updates touching what the list shows
(`last_message_at`, `status`, `assignee_id`, `labels`, `unread_count`, `team_id`), and projected to the
conversation's `_id`, `workspace_id`, `channel_id` and `team_id`: enough to route a change to the subscribers of
its workspace and, for agents, to those who may see it. After an error it reopens the stream from the last
resume token, so no change is lost across a blip. A server that is not a replica set has no change streams: the
hub then polls `max(last_message_at)` of each subscribed workspace every second instead (new messages only;
the log says which mode runs).

Each subscriber holds a small set of changed conversation ids and an event; delivery is `set.add` + `event.set`,
never a wait, so a slow reader cannot hold up the others. The set is capped (past `MAX_PENDING` it collapses to
"everything changed"), so a reader that never reads costs a bounded amount of memory, and a reader gets at most
one batch every `COALESCE_SECONDS`, so a burst of changes becomes one refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

from scrm.auth.roles import Principal

log = logging.getLogger(__name__)

WATCHED_FIELDS = ("last_message_at", "status", "assignee_id", "labels", "unread_count", "team_id")
"""A change to any of these (or a new conversation) can change what a list shows."""
COALESCE_SECONDS = 0.25
"""A subscriber gets at most one batch of changes this often."""
MAX_PENDING = 64
"""Past this many distinct changed conversations, a subscriber's batch becomes "everything changed"."""
POLL_SECONDS = 1.0
"""How often the fallback (no replica set) reads each subscribed workspace's newest activity."""
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
"""Waits before reopening the change stream after consecutive errors (the last one repeats)."""
NO_CHANGE_STREAMS = 40573
"""The server's code for "The $changeStream stage is only supported on replica sets"."""
LOST_RESUME_POINT = {260, 280, 286}
"""InvalidResumeToken, ChangeStreamFatalError, ChangeStreamHistoryLost: the resume token cannot be used again."""


@dataclass(frozen=True, slots=True)
class Change:
    """A conversation that changed, with what routing needs: its workspace, channel and team."""

    conversation_id: PydanticObjectId
    workspace_id: PydanticObjectId
    channel_id: PydanticObjectId | None = None
    team_id: PydanticObjectId | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Change | None:
        """The change for a projected conversation document; None without the ids routing needs."""
        if document.get("_id") is None or document.get("workspace_id") is None:
            return None
        return cls(
            conversation_id=PydanticObjectId(document["_id"]),
            workspace_id=PydanticObjectId(document["workspace_id"]),
            channel_id=_oid(document.get("channel_id")),
            team_id=_oid(document.get("team_id")),
        )


def _oid(value: Any) -> PydanticObjectId | None:
    return PydanticObjectId(value) if value is not None else None


def in_reach(principal: Principal, change: Change) -> bool:
    """May this principal see the conversation: anyone but an agent, or an agent of its channel or team.

    The same rule as `scrm.inbox.conversations.reach`, applied to one change.
    """
    if change.workspace_id != principal.workspace_id:
        return False
    if not principal.is_limited:
        return True
    return change.channel_id in principal.channel_ids or (
        change.team_id is not None and change.team_id in principal.team_ids
    )


def change_stream_pipeline() -> list[dict[str, Any]]:
    """Inserts, replacements and updates setting or removing a watched field, projected to the routing ids."""

    def touches(field_names: Any) -> dict[str, Any]:
        head = {"$arrayElemAt": [{"$split": ["$$name", "."]}, 0]}  # "labels.2" → "labels"
        watched = {"$filter": {"input": field_names, "as": "name", "cond": {"$in": [head, list(WATCHED_FIELDS)]}}}
        return {"$gt": [{"$size": watched}, 0]}

    updated = {"$map": {"input": {"$objectToArray": "$updateDescription.updatedFields"}, "in": "$$this.k"}}
    removed = {"$ifNull": ["$updateDescription.removedFields", []]}
    wanted = {
        "$or": [
            {"$in": ["$operationType", ["insert", "replace"]]},
            {"$and": [{"$eq": ["$operationType", "update"]}, {"$or": [touches(updated), touches(removed)]}]},
        ]
    }
    project = {"operationType": 1, "documentKey": 1}
    project |= {f"fullDocument.{name}": 1 for name in ("_id", "workspace_id", "channel_id", "team_id")}
    return [{"$match": {"$expr": wanted}}, {"$project": project}]


@dataclass(eq=False)
class Subscription:
    """One reader (an open inbox page): the changes in its reach, batched."""

    workspace_id: PydanticObjectId
    accepts: Callable[[Change], bool]
    pending: set[PydanticObjectId] = field(default_factory=set)
    overflow: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    last_batch: float = 0.0

    def offer(self, change: Change) -> None:
        """Note a change if this reader may see it; never waits."""
        if not self.accepts(change):
            return
        if not self.overflow:
            self.pending.add(change.conversation_id)
            if len(self.pending) > MAX_PENDING:
                self.overflow, self.pending = True, set()
        self.ready.set()

    async def next_batch(self, within: float | None = None) -> list[PydanticObjectId] | None:
        """The conversations changed since the last batch (an empty list: too many to name, refresh everything);
        None when nothing changed `within` seconds. Waits so batches come at most every COALESCE_SECONDS.
        """
        try:
            await asyncio.wait_for(self.ready.wait(), within)
        except TimeoutError:
            return None
        wait = self.last_batch + COALESCE_SECONDS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # what arrives meanwhile joins this batch
        batch = [] if self.overflow else sorted(self.pending)
        self.pending, self.overflow, self.last_batch = set(), False, time.monotonic()
        self.ready.clear()
        return batch


class InboxHub:
    """One process's watch on the conversations, shared by every open inbox page of the process."""

    def __init__(
        self, collection: AsyncCollection[Any], *, poll_seconds: float = POLL_SECONDS, watch: bool | None = None
    ) -> None:
        """`watch`: use a change stream (True) or poll (False); by default, whichever the server supports."""
        self._collection = collection
        self._poll_seconds = poll_seconds
        self._watch_wanted = watch
        self._subscribers: dict[PydanticObjectId, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._polled = asyncio.Event()
        """Set (and replaced) at the end of each round of polling."""
        self.mode: str | None = None
        """"change stream" or "polling" once running."""

    @asynccontextmanager
    async def subscribe(self, principal: Principal) -> AsyncIterator[Subscription]:
        """A subscription to the changes `principal` may see, for the length of a block; starts the hub."""
        subscription = Subscription(principal.workspace_id, lambda change: in_reach(principal, change))
        self._subscribers.setdefault(principal.workspace_id, set()).add(subscription)
        try:
            await self._start()
            if self.mode == "polling":  # a whole round after this one joined has set its workspace's mark
                for _ in range(2):
                    await self._polled.wait()
            yield subscription
        finally:
            members = self._subscribers.get(principal.workspace_id, set())
            members.discard(subscription)
            if not members:
                self._subscribers.pop(principal.workspace_id, None)

    def publish(self, change: Change) -> None:
        """Hand a change to the subscribers of its workspace."""
        for subscription in list(self._subscribers.get(change.workspace_id, ())):
            subscription.offer(change)

    @property
    def subscribers(self) -> int:
        """How many readers are subscribed."""
        return sum(len(members) for members in self._subscribers.values())

    async def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="inbox-live")
        await self._started.wait()  # the stream is open: a change from now on reaches the subscriber

    async def stop(self) -> None:
        """Close the stream (the app is stopping)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        try:
            if self._watch_wanted if self._watch_wanted is not None else await self._is_replica_set():
                await self._watch()
            else:
                await self._poll()
        finally:
            self._started.set()  # never leave a subscriber waiting on a hub that stopped

    async def _is_replica_set(self) -> bool:
        try:
            hello = await self._collection.database.client.admin.command("hello")
        except PyMongoError:
            log.warning("Live inbox: cannot ask the server whether it is a replica set; watching anyway.")
            return True
        return bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"

    async def _watch(self) -> None:
        resume_token: Mapping[str, Any] | None = None
        failures = 0
        while True:
            try:
                async with await self._collection.watch(
                    change_stream_pipeline(), full_document="updateLookup", resume_after=resume_token
                ) as stream:
                    if self.mode is None:
                        log.info("Live inbox: watching the conversations with a change stream.")
                    self.mode = "change stream"
                    self._started.set()
                    async for event in stream:
                        failures = 0
                        resume_token = stream.resume_token
                        change = Change.from_document(event.get("fullDocument") or {})
                        if change is not None:
                            self.publish(change)
                resume_token = None  # the stream ended (invalidated: the collection was dropped); start afresh
            except OperationFailure as exc:
                if exc.code == NO_CHANGE_STREAMS:
                    await self._poll()
                    return
                if exc.code in LOST_RESUME_POINT:
                    resume_token = None  # too old to resume from: go on from now
                failures = await self._pause_after(exc, failures)
            except PyMongoError as exc:
                failures = await self._pause_after(exc, failures)

    async def _pause_after(self, exc: Exception, failures: int) -> int:
        wait = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
        log.warning("Live inbox: the change stream failed (%s); resuming in %.1f s.", type(exc).__name__, wait)
        self._started.set()  # subscribers do not wait for the stream; they get changes once it is back
        await asyncio.sleep(wait)
        return failures + 1

    async def _poll(self) -> None:
        """No change streams: every `poll_seconds`, the conversations of subscribed workspaces with newer activity."""
        log.info("Live inbox: no replica set, so no change stream; polling every %.1f s instead.", self._poll_seconds)
        self.mode = "polling"
        marks: dict[PydanticObjectId, datetime | None] = {}
        self._started.set()
        while True:
            for workspace_id in list(self._subscribers):
                try:
                    marks[workspace_id] = await self._poll_workspace(workspace_id, marks)
                except PyMongoError as exc:
                    log.warning("Live inbox: polling failed (%s).", type(exc).__name__)
            for gone in set(marks) - set(self._subscribers):
                del marks[gone]
            self._polled.set()
            self._polled = asyncio.Event()
            await asyncio.sleep(self._poll_seconds)

    async def _poll_workspace(
        self, workspace_id: PydanticObjectId, marks: dict[PydanticObjectId, datetime | None]
    ) -> datetime | None:
        """The workspace's newest `last_message_at`; publishes the conversations newer than its previous mark.

        The first look at a workspace only sets its mark.
        """
        latest = await self._collection.find_one(
            {"workspace_id": workspace_id, "last_message_at": {"$ne": None}},
            {"last_message_at": 1},
            sort=[("last_message_at", -1)],
        )
        top: datetime | None = latest["last_message_at"] if latest else None
        if workspace_id not in marks:
            return top
        mark = marks[workspace_id]
        if top is None or (mark is not None and top <= mark):
            return mark
        newer = {"workspace_id": workspace_id, "last_message_at": {"$gt": mark} if mark is not None else {"$ne": None}}
        projection = {"_id": 1, "workspace_id": 1, "channel_id": 1, "team_id": 1}
        async for document in self._collection.find(newer, projection).limit(MAX_PENDING + 1):
            change = Change.from_document(document)
            if change is not None:
                self.publish(change)
        return top


def hub_of(state: Any, collection: Callable[[], AsyncCollection[Any]]) -> InboxHub:
    """The process's hub, kept on the app's `state`; created (not yet started) on first use."""
    hub: InboxHub | None = state.get("inbox_hub")
    if hub is None:
        hub = InboxHub(collection())
        state.inbox_hub = hub
    return hub


@asynccontextmanager
async def stopping_hub(state: Any) -> AsyncIterator[None]:
    """Stop the process's hub, if one was started, when the block (the app's lifespan) ends."""
    try:
        yield
    finally:
        hub: InboxHub | None = state.get("inbox_hub")
        if hub is not None:
            await hub.stop()

"""MongoDB-backed stores for the connectors: pull cursors, and access tokens shared by every process.

Tokens are sealed with SCRM_SECRET_KEY like every other credential; compare-and-set works on a digest of the
plain value, and the refresh lock is a lease in the token's document, so across all workers one process
fetches a new token and the others wait for it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from scrm.connectors.stores import AccessToken, CursorValue
from scrm.models.platform_state import PlatformToken, SyncCursor
from scrm.models.sealed import SecretBox

LOCK_LEASE = timedelta(seconds=30)
LOCK_POLL = 0.05


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MongoCursorStore:
    """Cursors per (channel, stream) in `sync_cursors`."""

    def __init__(self, workspace_id: PydanticObjectId, now: Callable[[], datetime] = _utcnow) -> None:
        self._workspace_id = workspace_id
        self._now = now

    async def find_cursor(self, channel_id: str, stream: str) -> CursorValue | None:
        """The saved position, or None before the first pull."""
        found = await SyncCursor.find_one({"channel_id": PydanticObjectId(channel_id), "stream": stream})
        return None if found is None else found.value

    async def save_cursor(self, channel_id: str, stream: str, value: CursorValue) -> None:
        """Remember `value` as the stream's position."""
        await SyncCursor.get_pymongo_collection().update_one(
            {"channel_id": PydanticObjectId(channel_id), "stream": stream},
            {"$set": {"value": value, "updated_at": self._now(), "workspace_id": self._workspace_id}},
            upsert=True,
        )


class MongoTokenStore:
    """Platform access tokens in `platform_tokens`, sealed, with compare-and-set and a cross-process lock."""

    def __init__(self, box: SecretBox, now: Callable[[], datetime] = _utcnow) -> None:
        self._box = box
        self._now = now

    async def find_token(self, key: str) -> AccessToken | None:
        """The stored token, fresh or not, or None."""
        found = await PlatformToken.get_pymongo_collection().find_one({"_id": key})
        if found is None or not found.get("value") or found.get("expires_at") is None:
            return None
        expires_at: datetime = found["expires_at"]
        return AccessToken(self._box.open(found["value"], _context(key)), expires_at.astimezone(UTC))

    async def save_token(self, key: str, token: AccessToken, *, replaces: str | None) -> bool:
        """Store `token` only if the stored value is still `replaces`; False when another process won."""
        sealed = {"value": self._box.seal(token.value, _context(key)), "digest": _digest(token.value)}
        update = {"$set": {**sealed, "expires_at": token.expires_at}}
        expected = {"_id": key, "digest": _digest(replaces) if replaces is not None else None}
        try:
            found = await PlatformToken.get_pymongo_collection().find_one_and_update(
                expected, update, upsert=replaces is None, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            return False
        return found is not None

    @asynccontextmanager
    async def refresh_lock(self, key: str) -> AsyncIterator[None]:
        """Hold the key's refresh lease (waiting for another holder); a crashed holder's lease runs out."""
        collection = PlatformToken.get_pymongo_collection()
        while True:
            now = self._now()
            free = {"_id": key, "$or": [{"locked_until": None}, {"locked_until": {"$lte": now}}]}
            try:
                # Matches a free lock and takes it, or inserts the key's first document; a held lock makes the
                # upsert collide on `_id`, and we wait.
                await collection.update_one(free, {"$set": {"locked_until": now + LOCK_LEASE}}, upsert=True)
                break
            except DuplicateKeyError:
                await asyncio.sleep(LOCK_POLL)
        try:
            yield
        finally:
            await collection.update_one({"_id": key}, {"$set": {"locked_until": None}})


def _context(key: str) -> str:
    return f"platform-token/{key}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()

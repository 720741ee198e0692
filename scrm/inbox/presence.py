"""Who else has a conversation open: presence rows renewed by the inbox's polling, typing signals from the reply box.

A person is present while their page keeps polling: each poll pushes `expires_at` PRESENCE_TTL ahead, so a
closed tab, a lost network or a crashed browser disappears within PRESENCE_TTL without anyone saying goodbye.
Leaving (the page going away, or `DELETE` from an API client) removes the row at once. Typing is a signal, not
a mode: it reads as typing for TYPING_FOR after the last keystroke the reply box reported, then as viewing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from beanie import PydanticObjectId
from bson import ObjectId

from scrm.auth.roles import Principal
from scrm.inbox.actions import get_conversation
from scrm.inbox.conversations import user_id_of
from scrm.models import ApiToken, ConversationPresence, PresenceState, User

POLL_SECONDS = 3
"""How often an open conversation asks who else is there (and so renews its own presence).

Three seconds: two agents about to answer the same customer need to learn of each other before the second
one has typed a sentence, while one indexed upsert and one indexed find per open tab every three seconds
stays far below what MongoDB serves (an indexed `find_one` costs about 0.5 ms here).
"""
PRESENCE_TTL = timedelta(seconds=15)
"""A row outlives five missed polls (a slow network, a busy server), not much more."""
TYPING_FOR = timedelta(seconds=6)
"""The reply box reports typing at most every 2 s, so 6 s without a report means the person stopped."""
MAX_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Present:
    """Someone else in the conversation: who, what they are doing, and when they were last seen."""

    actor: str
    user_id: PydanticObjectId | None
    display_name: str
    state: PresenceState
    seen_at: datetime


async def display_name_of(principal: Principal) -> str:
    """How others see this principal: a user's display name (or email), or an API token's name."""
    kind, _, value = principal.actor.partition(":")
    if not PydanticObjectId.is_valid(value):
        return principal.actor
    if kind == "user":
        user = await User.get(PydanticObjectId(value))
        return (user.display_name or user.email) if user is not None else principal.actor
    if kind == "token":
        token = await principal.scope.find_one(ApiToken, {"_id": PydanticObjectId(value)})
        return token.name if token is not None else principal.actor
    return principal.actor


async def mark_present(
    principal: Principal,
    conversation_id: PydanticObjectId,
    state: PresenceState,
    now: datetime,
    display_name: str | None = None,
) -> None:
    """Record that the principal has the conversation open (viewing, or typing just now); one row per person.

    NotInWorkspace for a conversation the principal may not see. Viewing keeps a recent typing signal.
    """
    await get_conversation(principal, conversation_id)
    name = display_name if display_name is not None else await display_name_of(principal)
    changes: dict[str, object] = {"display_name": name, "seen_at": now, "expires_at": now + PRESENCE_TTL}
    if state is PresenceState.TYPING:
        changes |= {"state": PresenceState.TYPING.value, "typing_at": now}
    key = {"workspace_id": principal.workspace_id, "conversation_id": conversation_id, "actor": principal.actor}
    on_insert: dict[str, object] = {"_id": ObjectId(), "created_at": now, "user_id": user_id_of(principal)}
    if state is PresenceState.VIEWING:
        on_insert["state"] = PresenceState.VIEWING.value
    await ConversationPresence.get_pymongo_collection().update_one(
        key, {"$set": changes, "$setOnInsert": on_insert}, upsert=True
    )


async def leave(principal: Principal, conversation_id: PydanticObjectId) -> None:
    """The principal closed the conversation: others stop seeing them at once."""
    await get_conversation(principal, conversation_id)  # NotInWorkspace out of reach, like every read
    await principal.scope.find(
        ConversationPresence, {"conversation_id": conversation_id, "actor": principal.actor}
    ).delete()


async def others_present(principal: Principal, conversation_id: PydanticObjectId, now: datetime) -> list[Present]:
    """Everyone but the principal who has the conversation open now, typing first, then by name.

    NotInWorkspace for a conversation the principal may not see. Rows past `expires_at` are left out here
    because MongoDB's TTL monitor deletes them only once a minute.
    """
    await get_conversation(principal, conversation_id)
    rows = (
        await principal.scope.find(
            ConversationPresence,
            {"conversation_id": conversation_id, "actor": {"$ne": principal.actor}, "expires_at": {"$gt": now}},
        )
        .limit(MAX_SHOWN)
        .to_list()
    )
    found = [Present(row.actor, row.user_id, row.display_name, state_of(row, now), row.seen_at) for row in rows]
    return sorted(found, key=lambda p: (p.state is not PresenceState.TYPING, p.display_name.casefold(), p.actor))


def state_of(row: ConversationPresence, now: datetime) -> PresenceState:
    """What a present person is doing now: typing within TYPING_FOR of their last keystroke, else viewing."""
    if row.state is PresenceState.TYPING and row.typing_at is not None and now - row.typing_at <= TYPING_FOR:
        return PresenceState.TYPING
    return PresenceState.VIEWING

"""The inbox list: a principal's conversations, filtered, newest activity first, a page at a time, with counts.

A page costs a fixed handful of queries whatever its length: the conversations, then their contacts and
channels in one `$in` lookup each, and one capped count per status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.inbox.search import MAX_QUERY_LENGTH, SearchHits, SearchMatch, page_matches, search
from scrm.inbox.sla import sla_filter
from scrm.models import Channel, Contact, Conversation, ConversationStatus

DEFAULT_PAGE = 50
COUNT_CAP = 1000
"""Counts per status stop here: the list shows `1000+`, the API says so in `counts_capped_at`."""
ASSIGNEE_CHOICES = ("anyone", "me", "unassigned")
NAMED_CHANNELS = 100
"""Up to this many channels, a list names them (see `by_channel`); MongoDB merges at most 200 index ranges."""
_CURSOR = re.compile(r"^(\d+|-)\.([0-9a-f]{24})$")
SORTS = ("recent", "waiting")
"""`recent`: latest activity first; `waiting`: longest waiting first (`waiting_since`), then the others by activity."""
_WAITING_CURSOR = re.compile(r"^w(\d+)\.([0-9a-f]{24})$")


class InboxInputError(ValueError):
    """A request the inbox cannot act on as given (a bad cursor, an unknown assignee…); the message says why."""


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What the list shows: every field narrows it; `assignee` is `anyone`, `me`, `unassigned` or a user id."""

    channel_id: PydanticObjectId | None = None
    status: ConversationStatus | None = None
    assignee: str = "anyone"
    label: str | None = None
    sentiment: str | None = None
    intent: str | None = None
    language: str | None = None
    """`en`, `zh` or `other`: the language of the latest tagged inbound message."""
    unread: bool = False
    team_id: PydanticObjectId | None = None
    blocked: bool = False
    """Show only the conversations of blocked contacts (by default they are left out)."""
    sla: str | None = None
    """`breached` or `at_risk`: only conversations whose SLA stands so at `now`."""
    now: datetime | None = None
    """The clock the SLA filter compares due times with (None: the current time)."""
    q: str | None = None
    """Words the conversation's messages must contain (see `scrm.inbox.search`); the newest 1,000 matches."""
    sort: str = "recent"
    """One of SORTS: `recent` (latest activity first) or `waiting` (longest waiting for an answer first)."""


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """One line of the list: the conversation with its contact's name and its channel's name."""

    conversation: Conversation
    contact_name: str
    avatar_url: str
    channel_name: str
    match: SearchMatch | None = None
    """With a search `q`: what matched (the contact, or which message, with a snippet to show)."""


@dataclass(frozen=True, slots=True)
class ConversationList:
    """A page of the list, the cursor of the next page (None on the last), and counts per status."""

    rows: list[ConversationRow]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def reach(principal: Principal) -> dict[str, Any]:
    """The conversations this principal may see: all of them, or (an agent) those of their channels or teams."""
    if not principal.is_limited:
        return {}
    channels = {"channel_id": {"$in": sorted(principal.channel_ids)}}
    if not principal.team_ids:  # a plain `$in` lets the channel indexes serve the list and its counts
        return channels
    return {"$or": [channels, {"team_id": {"$in": sorted(principal.team_ids)}}]}


def user_id_of(principal: Principal) -> PydanticObjectId | None:
    """The signed-in user behind a principal; None for an API token (a token is nobody's `me`)."""
    kind, _, value = principal.actor.partition(":")
    return PydanticObjectId(value) if kind == "user" and PydanticObjectId.is_valid(value) else None


async def list_conversations(
    principal: Principal, wanted: InboxFilter, cursor: str | None = None, limit: int = DEFAULT_PAGE
) -> ConversationList:
    """One page of the conversations the principal may see that match `wanted`, with the counts per status."""
    hits = await search_of(principal, wanted)
    matched = await matching(principal, wanted, hits)
    if matched is None:
        return ConversationList([], None, dict.fromkeys((s.value for s in ConversationStatus), 0))
    base = await by_channel(principal, matched)
    status = {} if wanted.status is None else {"status": wanted.status.value}
    if wanted.sort not in SORTS:
        raise InboxInputError(f"Unknown sort {wanted.sort!r}: use {' or '.join(SORTS)}")
    if wanted.sort == "waiting":
        # without the named channels: the (status, waiting_since, _id) index then serves the waits in order
        found = await _waiting_first(principal, [matched, status], cursor, limit)
    elif hits is not None and hits.by_contact:
        found = await _contacts_first(principal, [base, status], hits, cursor, limit)
    else:
        query = principal.scope.find(Conversation, base, status, after(cursor))
        found = await query.sort("-last_message_at", "-_id").limit(limit + 1).to_list()
    page = found[:limit]
    encode = encode_waiting_cursor if wanted.sort == "waiting" else encode_cursor
    if hits is not None and wanted.sort != "waiting" and page and page[-1].id in hits.by_contact:
        encode = encode_contact_cursor
    more = encode(page[-1]) if len(found) > limit else None
    rows = await rows_of(principal, page)
    if hits is not None:
        matches = await page_matches(principal, hits, page)
        rows = [replace(row, match=matches.get(row.conversation.id or PydanticObjectId())) for row in rows]
    return ConversationList(rows, more, await status_counts(principal, base))


async def search_of(principal: Principal, wanted: InboxFilter) -> SearchHits | None:
    """The conversations `wanted.q` finds (see `scrm.inbox.search`); None without a `q`, refused when too long."""
    if not wanted.q:
        return None
    if len(wanted.q) > MAX_QUERY_LENGTH:
        raise InboxInputError(f"The search `q` is {len(wanted.q)} characters long; at most {MAX_QUERY_LENGTH}")
    return await search(principal, wanted.q)


async def _contacts_first(
    principal: Principal, filters: list[dict[str, Any]], hits: SearchHits, cursor: str | None, limit: int
) -> list[Conversation]:
    """Up to `limit + 1` conversations after the cursor: those whose contact matches, then those matched by a
    message, each by latest activity. A cursor in the first range starts with `c` (`encode_contact_cursor`)."""
    found: list[Conversation] = []
    rest_cursor = cursor
    if not cursor or cursor.startswith("c"):
        rest_cursor = None
        contacts = {"_id": {"$in": hits.by_contact}}
        query = principal.scope.find(Conversation, *filters, contacts, after(cursor[1:] if cursor else None))
        found = await query.sort("-last_message_at", "-_id").limit(limit + 1).to_list()
    if len(found) <= limit:
        messages = {"_id": {"$in": list(hits.by_message)}}
        rest = principal.scope.find(Conversation, *filters, messages, after(rest_cursor))
        found += await rest.sort("-last_message_at", "-_id").limit(limit + 1 - len(found)).to_list()
    return found


def encode_contact_cursor(conversation: Conversation) -> str:
    """The cursor after a conversation matched by its contact: `c` and its activity cursor."""
    return "c" + encode_cursor(conversation)


async def matching(principal: Principal, wanted: InboxFilter, hits: SearchHits | None = None) -> dict[str, Any] | None:
    """The filter of every conversation matching `wanted` but its status; None when none can match."""
    query: dict[str, Any] = dict(reach(principal))
    if wanted.channel_id is not None:
        if "channel_id" in query and wanted.channel_id not in principal.channel_ids:
            return None  # a channel outside an agent's reach: nothing (the filter must not widen the reach)
        query["channel_id"] = wanted.channel_id
    if wanted.team_id is not None:
        query["team_id"] = wanted.team_id
    if wanted.label:
        query["labels"] = wanted.label
    if wanted.unread:
        query["unread_count"] = {"$gt": 0}
    query.update(_assignee(principal, wanted.assignee))
    if wanted.sentiment:
        query["latest_tags.sentiment"] = wanted.sentiment
    if wanted.intent:
        query["latest_tags.intent"] = wanted.intent
    if wanted.language:
        query["latest_tags.language"] = wanted.language
    if wanted.sla:
        try:
            query.update(sla_filter(wanted.sla, wanted.now or datetime.now(UTC)))
        except ValueError as exc:
            raise InboxInputError(str(exc)) from None
    if wanted.q:
        hits = hits or await search_of(principal, wanted)
        if hits is None or not hits.ids:
            return None
        query["_id"] = {"$in": hits.ids}
    blocked = await blocked_contacts(principal)
    if wanted.blocked:
        if not blocked:
            return None
        query["contact_id"] = {"$in": blocked}
    elif blocked:
        query["contact_id"] = {"$nin": blocked}
    return query


async def by_channel(principal: Principal, base: dict[str, Any]) -> dict[str, Any]:
    """`base` naming the channels it covers: an agent's reach already does; else every channel with conversations.

    The same rows, read faster: each filter's index has the channel right after the filter's field and the
    status, so with the channels named MongoDB reads one range per channel, merges them in (time, id) order
    for the page, and counts each status from the index alone (no document read to check an agent's
    channels). A list with an `$or` (an agent with teams) or very many channels is left as it is.
    """
    if "channel_id" in base or "$or" in base:
        return base
    collection = Conversation.get_pymongo_collection()
    channels = await collection.distinct("channel_id", {"workspace_id": principal.workspace_id})
    if not channels or len(channels) > NAMED_CHANNELS:
        return base
    return {**base, "channel_id": {"$in": sorted(channels)}}


async def blocked_contacts(principal: Principal) -> list[PydanticObjectId]:
    """The workspace's blocked contacts (few, and served by a partial index on `blocked`)."""
    collection = Contact.get_pymongo_collection()
    found = collection.find({"workspace_id": principal.workspace_id, "blocked": True}, {"_id": 1})
    return sorted([PydanticObjectId(row["_id"]) async for row in found])


def _assignee(principal: Principal, assignee: str) -> dict[str, Any]:
    if assignee == "anyone":
        return {}
    if assignee == "unassigned":
        return {"assignee_id": None}
    if assignee == "me":
        me = user_id_of(principal)
        if me is None:
            raise InboxInputError("`assignee=me` needs a signed-in user; an API token can filter by a user id")
        return {"assignee_id": me}
    if not PydanticObjectId.is_valid(assignee):
        raise InboxInputError(f"Unknown assignee {assignee!r}: use anyone, me, unassigned or a user id")
    return {"assignee_id": PydanticObjectId(assignee)}


async def status_counts(principal: Principal, base: dict[str, Any]) -> dict[str, int]:
    """How many matching conversations stand in each status, each count stopping at COUNT_CAP.

    One count per status, each served by an index that starts with the workspace and the status (or the
    channel or assignee, then the status); the cap keeps a busy inbox's counts as cheap as a quiet one's
    ("1000+" is all a person needs to know).
    """
    collection = Conversation.get_pymongo_collection()
    scoped = {"workspace_id": principal.workspace_id, **base}
    counts = {}
    for status in ConversationStatus:
        counts[status.value] = await collection.count_documents({**scoped, "status": status.value}, limit=COUNT_CAP)
    return counts


async def rows_of(principal: Principal, conversations: list[Conversation]) -> list[ConversationRow]:
    """The list lines of these conversations, their contacts and channels read in one lookup each."""
    if not conversations:
        return []
    contact_ids = sorted({c.contact_id for c in conversations})
    channel_ids = sorted({c.channel_id for c in conversations})
    contacts = {c.id: c for c in await principal.scope.find(Contact, {"_id": {"$in": contact_ids}}).to_list()}
    channels = {c.id: c for c in await principal.scope.find(Channel, {"_id": {"$in": channel_ids}}).to_list()}
    rows = []
    for conversation in conversations:
        contact = contacts.get(conversation.contact_id)
        channel = channels.get(conversation.channel_id)
        rows.append(
            ConversationRow(
                conversation,
                contact_name(contact) if contact else "?",
                contact.avatar_url if contact else "",
                channel.name if channel else "?",
            )
        )
    return rows


def contact_name(contact: Contact) -> str:
    """The name people know a contact by: their name, else a display name or username of an identity."""
    if contact.name:
        return contact.name
    for identity in contact.identities:
        if identity.display_name or identity.username:
            return identity.display_name or identity.username
    return contact.identities[0].external_id if contact.identities else "?"


def encode_cursor(conversation: Conversation) -> str:
    """The cursor after this conversation: its last activity (ms) and id, so that ties stay exact."""
    at = conversation.last_message_at
    return f"{round(at.timestamp() * 1000) if at else '-'}.{conversation.id}"


async def _waiting_first(
    principal: Principal, filters: list[dict[str, Any]], cursor: str | None, limit: int
) -> list[Conversation]:
    """Up to `limit + 1` conversations after the cursor: those waiting, longest first, then the others by activity.

    Two ranges read one after the other, each in its own index order: (`waiting_since`, `_id`) ascending, then
    (`last_message_at`, `_id`) descending among those not waiting. A cursor says which range it is in (`w…` in
    the first, `i` and an activity cursor in the second), so a page that spans both continues exactly.
    """
    found: list[Conversation] = []
    idle_cursor: str | None = None
    if cursor and cursor.startswith("i"):
        idle_cursor = cursor[1:] or None
        after(idle_cursor)  # a malformed rest is refused like any cursor
    else:
        waiting = {"waiting_since": {"$ne": None}}
        query = principal.scope.find(Conversation, *filters, waiting, after_waiting(cursor))
        found = await query.sort("+waiting_since", "+_id").limit(limit + 1).to_list()
    if len(found) <= limit:
        rest = principal.scope.find(Conversation, *filters, {"waiting_since": None}, after(idle_cursor))
        found += await rest.sort("-last_message_at", "-_id").limit(limit + 1 - len(found)).to_list()
    return found


def encode_waiting_cursor(conversation: Conversation) -> str:
    """The `sort=waiting` cursor after this conversation: `w` and its wait's start (ms) and id, or `i` and the
    activity cursor once the page is among the conversations not waiting."""
    since = conversation.waiting_since
    if since is None:
        return "i" + encode_cursor(conversation)
    return f"w{round(since.timestamp() * 1000)}.{conversation.id}"


def after_waiting(cursor: str | None) -> dict[str, Any]:
    """The filter of waiting conversations after a `w…` cursor in (`waiting_since`, id) ascending order."""
    if not cursor:
        return {}
    found = _WAITING_CURSOR.match(cursor)
    if found is None:
        raise InboxInputError(f"Invalid cursor {cursor!r}: pass the `next_cursor` of the previous page")
    at = datetime.fromtimestamp(int(found.group(1)) / 1000, UTC)
    oid = PydanticObjectId(found.group(2))
    return {"$or": [{"waiting_since": {"$gt": at}}, {"waiting_since": at, "_id": {"$gt": oid}}]}


def after(cursor: str | None) -> dict[str, Any]:
    """The filter of conversations after the cursor in (last activity, id) descending order."""
    if not cursor:
        return {}
    found = _CURSOR.match(cursor)
    if found is None:
        raise InboxInputError(f"Invalid cursor {cursor!r}: pass the `next_cursor` of the previous page")
    oid = PydanticObjectId(found.group(2))
    if found.group(1) == "-":  # conversations without activity sort last, by id
        return {"last_message_at": None, "_id": {"$lt": oid}}
    at = datetime.fromtimestamp(int(found.group(1)) / 1000, UTC)
    return {
        "last_message_at": {"$not": {"$gt": at}},  # implied by the `$or`; an index bound on each channel's range
        "$or": [
            {"last_message_at": {"$lt": at}},
            {"last_message_at": at, "_id": {"$lt": oid}},
            {"last_message_at": None},
        ],
    }

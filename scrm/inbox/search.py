"""Search in message text, Chinese included: the terms a message is indexed by, and the conversations a query finds.

MongoDB's own text analysis does not fit: it has no Chinese tokenizer (Chinese has no spaces, so a whole
sentence would be one term), and its stemming and stop words are English or nothing for mixed social text.
So each message carries `search_terms`, its text already cut into terms (`scrm.search_terms`):

- Latin, digits, Hangul and every other spaced script: words, NFKC-normalised (full-width letters become
  ASCII) and case-folded, apostrophes inside a word dropped (`hasn't` → `hasnt`);
- Han, kana: every **character bigram** of each run, and every single character too, so that a
  one-character query (`贵`, a surname) finds something. The single characters are about two fifths of the
  index keys (`bench/search.py` prints the share and the index size);
- emoji, punctuation and symbols: nothing.

A query is cut the same way, and a message matches when it has every term: `退款 没到` → 退款, 没到;
`退款没到` → 退款, 款没, 没到 (the bigrams of a longer word, all required; their order is not checked, which in
practice costs nothing); a one-character Han query looks the character up. Latin words match whole words
only: `refund` does not find "refunds", nor `refunds` "refund" (no prefixes, no stemming: exact and
predictable).

**Why not a MongoDB text index over the same terms** (`{workspace_id: 1, search_text: "text"}`, language
"none", each term a quoted phrase to get AND): it was built and measured first. `$text` returns matches in no
useful order and evaluates quoted phrases as "any term, then check every phrase in the document", so the list
(the most recently active conversations first) had to read and group *every* message holding *any* of the
terms: a common word cost time in proportion to how common it is (`docs/benchmarks.md`, Search). Here the
terms are a plain array with an ordinary multikey index `{workspace_id, search_terms, sent_at: -1}`: one term's
messages come newest first straight from the index, so the scan stops as soon as it has found `MATCH_CAP`
conversations — a common word is as cheap as a rare one — and the other terms of the query are checked on those
messages only. The workspace prefix keeps every search tenant-bound.

**Contacts.** A query also looks for the person: each contact carries its own `search_terms` (`Contact`,
`scrm.models.contact.contact_terms`): its name and its identities' display names and usernames cut like text
(`王芳` → 王, 王芳, 芳; `@jenny_w` → jenny, w), its email whole and case-folded, its phone number as digits, with
and without the country code. A query that is a phone number (`138 0013 8000`) looks up its digits, an email
looks up the address, anything else its terms; the contact must have them all. The index
`{workspace_id, search_terms, last_seen_at: -1}` gives the contacts most recently seen first, at most
`MATCH_CAP`; their conversations in the principal's reach come first in the list (most recently active first),
then the conversations matched by message text. A contact's terms are stored wherever its name, identities,
email or phone change (identity resolution, profile completion, editing, merge and unmerge) and backfilled by
`scrm inbox reindex`.

**What a row shows.** A message match shows the newest message of the conversation holding every term — the
first one the index scan meets, so it costs no extra search — cut around its first match, the matched words
marked (`SearchMatch.html` escapes the text, then adds `<mark>`); a contact match shows the name (or the handle,
email or phone that matched) marked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beanie import PydanticObjectId
from markupsafe import Markup, escape
from pymongo import DESCENDING

from scrm.auth.roles import Principal
from scrm.models import Contact, Conversation, Message
from scrm.search_terms import (
    contact_query_terms,
    email_term,
    match_spans,
    phone_terms,
    query_terms,
    search_terms,
    search_tokens,
)

__all__ = [
    "SearchHits",
    "SearchMatch",
    "matching_conversations",
    "page_matches",
    "query_terms",
    "search",
    "search_terms",
    "search_tokens",
    "term_filter",
]

MAX_QUERY_LENGTH = 200
"""A longer `q` is refused (the API answers 400)."""
MATCH_CAP = 1000
"""The list shows at most this many matching conversations, the most recently active first."""
BATCH = 500
"""Messages read, and candidates checked against an agent's reach, at a time."""
SNIPPET_LENGTH = 140
"""A matching message longer than this is cut around its first match."""
SNIPPET_BEFORE = 40
"""Characters kept before the first match when a message is cut."""
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class SearchMatch:
    """Why a conversation matched: its contact (`kind` "contact") or a message (`kind` "message", `message_id`).

    `snippet` is plain text (the matching message cut around its first match, or the contact's matching name,
    handle, email or phone); `highlights` are the (start, end) offsets of the matched terms in it.
    """

    kind: str
    message_id: PydanticObjectId | None
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def html(self) -> Markup:
        """The snippet as HTML: its text escaped, the matched terms in `<mark>`."""
        parts: list[str] = []
        at = 0
        for start, end in self.highlights:
            parts += [escape(self.snippet[at:start]), Markup("<mark>"), escape(self.snippet[start:end])]
            parts.append(Markup("</mark>"))
            at = end
        parts.append(escape(self.snippet[at:]))
        return Markup("").join(parts)


@dataclass(slots=True)
class SearchHits:
    """The conversations a query found: by their contact first, then by a message, with the newest matching message."""

    query: str
    by_contact: list[PydanticObjectId] = field(default_factory=list)
    """Conversations whose contact matches, most recently active first."""
    by_message: dict[PydanticObjectId, PydanticObjectId] = field(default_factory=dict)
    """Other conversations with a matching message, the most recent match first: conversation → that message."""

    @property
    def ids(self) -> list[PydanticObjectId]:
        """Every conversation found, in order: contact matches, then message matches."""
        return [*self.by_contact, *self.by_message]


def term_filter(query: str) -> dict[str, Any] | None:
    """The filter of messages holding every term of `query`; None when it has no terms."""
    terms = query_terms(query)
    if not terms:
        return None
    return {"search_terms": terms[0] if len(terms) == 1 else {"$all": terms}}


def contact_filter(query: str) -> dict[str, Any] | None:
    """The filter of contacts whose name, handles, email or phone hold every term of `query`; None: no terms."""
    terms = contact_query_terms(query)
    if not terms:
        return None
    return {"search_terms": terms[0] if len(terms) == 1 else {"$all": terms}}


async def matching_conversations(principal: Principal, query: str, cap: int = MATCH_CAP) -> list[PydanticObjectId]:
    """The conversations in the principal's reach matching `query`: by contact, then by message (see `search`)."""
    return (await search(principal, query, cap)).ids


async def search(principal: Principal, query: str, cap: int = MATCH_CAP) -> SearchHits:
    """The conversations in the principal's reach whose contact or a message matches `query`, at most `cap`.

    First the conversations of the matching contacts (most recently active first), then those with a matching
    message, the most recent match first, read from the `workspace_search` index and stopping at `cap`
    conversations in all. An agent's channels are part of the message filter; an agent with teams too reaches
    conversations of any channel, so each batch of candidates is checked against their reach.
    """
    hits = SearchHits(query, by_contact=await _by_contact(principal, query, cap))
    terms = term_filter(query)
    if terms is None or len(hits.by_contact) >= cap:
        return hits
    match: dict[str, Any] = {"workspace_id": principal.workspace_id, **terms}
    with_teams = principal.is_limited and bool(principal.team_ids)
    if principal.is_limited and not with_teams:
        match["channel_id"] = {"$in": sorted(principal.channel_ids)}
    messages = Message.get_pymongo_collection().find(match, {"conversation_id": 1})
    room = cap - len(hits.by_contact)
    seen: set[Any] = set(hits.by_contact)
    found: dict[PydanticObjectId, PydanticObjectId] = {}
    pending: dict[PydanticObjectId, PydanticObjectId] = {}
    async for row in messages.sort("sent_at", DESCENDING).batch_size(BATCH):
        conversation = row["conversation_id"]
        if conversation in seen:
            continue
        seen.add(conversation)
        pending[PydanticObjectId(conversation)] = PydanticObjectId(row["_id"])
        if len(pending) >= BATCH or (not with_teams and len(found) + len(pending) >= room):
            found |= await _pending_in_reach(principal, pending) if with_teams else pending
            pending = {}
            if len(found) >= room:
                break
    if pending:
        found |= await _pending_in_reach(principal, pending) if with_teams else pending
    hits.by_message = dict(list(found.items())[:room])
    return hits


async def _by_contact(principal: Principal, query: str, cap: int) -> list[PydanticObjectId]:
    """The conversations in reach of the contacts matching `query` (the `cap` most recently seen), newest first."""
    terms = contact_filter(query)
    if terms is None:
        return []
    contacts = Contact.get_pymongo_collection().find({"workspace_id": principal.workspace_id, **terms}, {"_id": 1})
    ids = [row["_id"] async for row in contacts.sort("last_seen_at", DESCENDING).limit(cap)]
    if not ids:
        return []
    wanted: dict[str, Any] = {"workspace_id": principal.workspace_id, "contact_id": {"$in": ids}, **_reach(principal)}
    rows = Conversation.get_pymongo_collection().find(wanted, {"_id": 1})
    rows = rows.sort([("last_message_at", DESCENDING), ("_id", DESCENDING)]).limit(cap)
    return [PydanticObjectId(row["_id"]) async for row in rows]


def _reach(principal: Principal) -> dict[str, Any]:
    """The conversations an agent reaches: by channel, or by channel or team (nothing to add for the others)."""
    if not principal.is_limited:
        return {}
    channels = {"channel_id": {"$in": sorted(principal.channel_ids)}}
    if not principal.team_ids:
        return channels
    return {"$or": [channels, {"team_id": {"$in": sorted(principal.team_ids)}}]}


async def _pending_in_reach(
    principal: Principal, candidates: dict[PydanticObjectId, PydanticObjectId]
) -> dict[PydanticObjectId, PydanticObjectId]:
    """The candidates (in their order) an agent with teams reaches: by channel or by team."""
    collection = Conversation.get_pymongo_collection()
    query = {"workspace_id": principal.workspace_id, "_id": {"$in": list(candidates)}, **_reach(principal)}
    allowed = {PydanticObjectId(row["_id"]) async for row in collection.find(query, {"_id": 1})}
    return {oid: message for oid, message in candidates.items() if oid in allowed}


async def page_matches(
    principal: Principal, hits: SearchHits, conversations: list[Conversation]
) -> dict[PydanticObjectId, SearchMatch]:
    """What matched in each conversation of a page: two reads at most (the matching messages, the contacts)."""
    by_contact = set(hits.by_contact)
    contact_ids = sorted({c.contact_id for c in conversations if c.id in by_contact})
    message_ids = sorted({hits.by_message[c.id] for c in conversations if c.id in hits.by_message and c.id})
    contacts: dict[Any, dict[str, Any]] = {}
    if contact_ids:
        found = Contact.get_pymongo_collection().find(
            {"workspace_id": principal.workspace_id, "_id": {"$in": contact_ids}},
            dict.fromkeys(("name", "email", "phone", "identities"), 1),
        )
        contacts = {row["_id"]: row async for row in found}
    texts: dict[Any, str] = {}
    if message_ids:
        found = Message.get_pymongo_collection().find(
            {"workspace_id": principal.workspace_id, "_id": {"$in": message_ids}}, {"text": 1}
        )
        texts = {row["_id"]: str(row.get("text") or "") async for row in found}
    matches: dict[PydanticObjectId, SearchMatch] = {}
    for conversation in conversations:
        if conversation.id is None:
            continue
        if conversation.id in by_contact and conversation.contact_id in contacts:
            matches[conversation.id] = contact_match(contacts[conversation.contact_id], hits.query)
        elif conversation.id in hits.by_message:
            message_id = hits.by_message[conversation.id]
            matches[conversation.id] = message_match(message_id, texts.get(message_id, ""), hits.query)
    return matches


def message_match(message_id: PydanticObjectId, text: str, query: str) -> SearchMatch:
    """A message's snippet: the text (on one line) cut around its first matched term, the terms marked."""
    flat = " ".join(text.split())
    spans = match_spans(flat, query_terms(query))
    start = 0
    if len(flat) > SNIPPET_LENGTH and spans:
        start = max(0, min(spans[0][0] - SNIPPET_BEFORE, len(flat) - SNIPPET_LENGTH))
    end = min(len(flat), start + SNIPPET_LENGTH)
    before = ELLIPSIS if start > 0 else ""
    after = ELLIPSIS if end < len(flat) else ""
    shift = len(before) - start
    kept = tuple((max(s, start) + shift, min(e, end) + shift) for s, e in spans if s < end and e > start)
    return SearchMatch("message", message_id, before + flat[start:end] + after, kept)


def contact_match(contact: dict[str, Any], query: str) -> SearchMatch:
    """A contact's snippet: the first of its name, display names, handles, email, phones holding every term (a
    WhatsApp identity's id is a phone number); else the name, with what matches in it marked."""
    terms = contact_query_terms(query)
    identities = contact.get("identities") or []
    names = [str(contact.get("name") or "")] + [str(i.get("display_name") or "") for i in identities]
    handles = ["@" + str(i["username"]) for i in identities if i.get("username")]
    for text in [*names, *handles]:
        if text and set(terms) <= set(search_terms(text)):
            return SearchMatch("contact", None, text, tuple(match_spans(text, terms)))
    email = str(contact.get("email") or "")
    if email and terms == [email_term(email)]:
        return SearchMatch("contact", None, email, ((0, len(email)),))
    phones = [str(contact.get("phone") or "")]
    phones += ["+" + str(i.get("external_id")) for i in identities if i.get("platform") == "whatsapp"]
    for phone in phones:
        if len(phone) > 1 and len(terms) == 1 and terms[0] in phone_terms(phone):
            return SearchMatch("contact", None, phone, ((0, len(phone)),))
    name = next((text for text in [*names, *handles] if text), "")
    return SearchMatch("contact", None, name, tuple(match_spans(name, terms)))

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
"""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId
from pymongo import DESCENDING

from scrm.auth.roles import Principal
from scrm.models import Conversation, Message
from scrm.search_terms import query_terms, search_terms, search_tokens

__all__ = ["matching_conversations", "query_terms", "search_terms", "search_tokens", "term_filter"]

MAX_QUERY_LENGTH = 200
"""A longer `q` is refused (the API answers 400)."""
MATCH_CAP = 1000
"""The list shows at most this many matching conversations, the most recently active first."""
BATCH = 500
"""Messages read, and candidates checked against an agent's reach, at a time."""


def term_filter(query: str) -> dict[str, Any] | None:
    """The filter of messages holding every term of `query`; None when it has no terms."""
    terms = query_terms(query)
    if not terms:
        return None
    return {"search_terms": terms[0] if len(terms) == 1 else {"$all": terms}}


async def matching_conversations(principal: Principal, query: str, cap: int = MATCH_CAP) -> list[PydanticObjectId]:
    """The conversations in the principal's reach with a message matching `query`, most recent match first.

    Reads the matching messages newest first from the `workspace_search` index and stops at `cap`
    conversations. An agent's channels are part of the message filter; an agent with teams too reaches
    conversations of any channel, so each batch of candidates is checked against their reach.
    """
    terms = term_filter(query)
    if terms is None:
        return []
    match: dict[str, Any] = {"workspace_id": principal.workspace_id, **terms}
    with_teams = principal.is_limited and bool(principal.team_ids)
    if principal.is_limited and not with_teams:
        match["channel_id"] = {"$in": sorted(principal.channel_ids)}
    messages = Message.get_pymongo_collection().find(match, {"conversation_id": 1, "_id": 0})
    seen: set[Any] = set()
    found: list[PydanticObjectId] = []
    pending: list[PydanticObjectId] = []
    async for row in messages.sort("sent_at", DESCENDING).batch_size(BATCH):
        conversation = row["conversation_id"]
        if conversation in seen:
            continue
        seen.add(conversation)
        pending.append(PydanticObjectId(conversation))
        if len(pending) >= BATCH or (not with_teams and len(found) + len(pending) >= cap):
            found += await _in_reach(principal, pending) if with_teams else pending
            pending = []
            if len(found) >= cap:
                break
    if pending:
        found += await _in_reach(principal, pending) if with_teams else pending
    return found[:cap]


async def _in_reach(principal: Principal, candidates: list[PydanticObjectId]) -> list[PydanticObjectId]:
    """The candidates (in their order) an agent with teams reaches: by channel or by team."""
    reach = {
        "$or": [
            {"channel_id": {"$in": sorted(principal.channel_ids)}},
            {"team_id": {"$in": sorted(principal.team_ids)}},
        ]
    }
    collection = Conversation.get_pymongo_collection()
    rows = collection.find({"workspace_id": principal.workspace_id, "_id": {"$in": candidates}, **reach}, {"_id": 1})
    allowed = {PydanticObjectId(row["_id"]) async for row in rows}
    return [oid for oid in candidates if oid in allowed]

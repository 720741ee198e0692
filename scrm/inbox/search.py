"""Search in message text, Chinese included: the tokens a message is indexed by, and the conversations a query finds.

MongoDB's own text analysis does not fit: it has no Chinese tokenizer (Chinese has no spaces, so a whole
sentence would be one term), and its stemming and stop words are English or nothing for mixed social text.
So each message carries `search_text`, its text already cut into terms, and a text index with
`default_language: "none"` (no stemming, no stop words) over `{workspace_id: 1, search_text: "text"}` indexes
those terms as they are:

- Latin, digits, Hangul and every other spaced script: words, NFKC-normalised (full-width letters become
  ASCII) and case-folded, apostrophes inside a word dropped (`hasn't` → `hasnt`);
- Han, kana: every **character bigram** of each run, and every single character too, so that a
  one-character query (`贵`, a surname) finds something. The single characters cost about as many index keys
  as the bigrams; the benchmark (`bench/search.py`) reports the index size;
- emoji, punctuation and symbols: nothing.

A query is cut the same way and each term is sent as a quoted phrase, which `$text` ANDs: `退款 没到` →
`"退款" "没到"`, `退款没到` → `"退款" "款没" "没到"` (the bigrams of a longer word, all of them required;
their order is not checked, which in practice costs nothing). A Han query of one character looks the single
character up. Latin words match whole words only: `refund` finds "refunds" no more than `refunds` finds
"refund" (no prefixes, no stemming: exact, predictable, and one index lookup per term).

The workspace prefix of the index makes every search tenant-bound and reads only that workspace's keys.
"""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.models import Conversation, Message
from scrm.search_terms import query_terms, search_tokens

__all__ = ["matching_conversations", "query_terms", "search_tokens", "text_search"]

MAX_QUERY_LENGTH = 200
"""A longer `q` is refused (the API answers 400)."""
MATCH_CAP = 1000
"""The list shows at most this many matching conversations, the most recently active first."""
INDEX_NAME = "workspace_search"


def text_search(query: str) -> dict[str, Any] | None:
    """The `$text` clause of a query, every term a quoted phrase (all required); None when it has no terms."""
    terms = query_terms(query)
    if not terms:
        return None
    return {"$text": {"$search": " ".join(f'"{term}"' for term in terms)}}


async def matching_conversations(principal: Principal, query: str, cap: int = MATCH_CAP) -> list[PydanticObjectId]:
    """The conversations in the principal's reach with a message matching `query`, most recent match first.

    One text-index read of the workspace's matching messages, grouped by conversation. An agent with channels
    only has the channels in the match (exact before the cap); an agent with teams too reaches conversations
    of any channel, so the candidates are checked against their reach afterwards.
    """
    clause = text_search(query)
    if clause is None:
        return []
    match: dict[str, Any] = {"workspace_id": principal.workspace_id, **clause}
    with_teams = principal.is_limited and bool(principal.team_ids)
    if principal.is_limited and not with_teams:
        match["channel_id"] = {"$in": sorted(principal.channel_ids)}
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {"$group": {"_id": "$conversation_id", "at": {"$max": "$sent_at"}}},
        {"$sort": {"at": -1, "_id": -1}},
    ]
    if not with_teams:
        pipeline.append({"$limit": cap})
    cursor = await Message.get_pymongo_collection().aggregate(pipeline)
    found = [PydanticObjectId(row["_id"]) async for row in cursor]
    if not with_teams:
        return found
    reach = {
        "$or": [
            {"channel_id": {"$in": sorted(principal.channel_ids)}},
            {"team_id": {"$in": sorted(principal.team_ids)}},
        ]
    }
    collection = Conversation.get_pymongo_collection()
    rows = collection.find({"workspace_id": principal.workspace_id, "_id": {"$in": found}, **reach}, {"_id": 1})
    allowed = {PydanticObjectId(row["_id"]) async for row in rows}
    return [oid for oid in found if oid in allowed][:cap]

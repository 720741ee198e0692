"""X API v2 pull streams: mentions of the account and its followers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from scrm.connectors.http import RestStream
from scrm.connectors.items import InboundComment, InboundFollow, InboundPost
from scrm.connectors.paginators import BodyCursor, lookup
from scrm.connectors.stores import CursorValue
from scrm.connectors.x.payloads import PLATFORM, post_from_v2, sender_from_v2

# x.md d: pages carry ``meta.next_token``, sent back as ``pagination_token``; no token means the last page.
NEXT_TOKEN = BodyCursor(path="meta.next_token", param="pagination_token")
USER_FIELDS = "name,username,profile_image_url"


class Mentions(RestStream[InboundPost | InboundComment]):
    """Posts that mention the account (``GET /2/users/:id/mentions``), newest first, from the saved post id on.

    The cursor is the highest post id seen, sent back as ``since_id`` ("more recent than"; x.md d marks it
    [unverified], and SDKs such as Twift expose ``sinceId`` on this endpoint); ids are compared as numbers,
    since post ids are 64-bit integers that grow over time. ``max_results`` is 5..100 and only the 800 most
    recent mentions are reachable (SDK documentation of the endpoint, [unverified] on X's own page). Authors
    come from ``includes.users`` (``expansions=author_id``). Limit: 450/15 min per app (x.md d).
    """

    name = "mentions"
    path = "/2/users/{user_id}/mentions"
    records = "data"
    paginator = NEXT_TOKEN
    params: ClassVar[Mapping[str, str | int]] = {
        "max_results": 100,
        "tweet.fields": "created_at,author_id,conversation_id,referenced_tweets",
        "expansions": "author_id",
        "user.fields": USER_FIELDS,
    }
    cursor_field = "id"
    cursor_param = "since_id"

    def page_records(self, body: Any) -> list[Any]:
        """Return the page's posts, each with its author's user object joined in as ``author``."""
        users = {user["id"]: user for user in lookup(body, "includes.users") or []}
        return [{**post, "author": users.get(post.get("author_id"))} for post in lookup(body, "data") or []]

    def cursor_of(self, raw: Any) -> CursorValue | None:
        """Return the post id as a number, so ``since_id`` resumes after the newest post handled."""
        return int(raw["id"])

    def parse(self, raw: Any) -> InboundPost | InboundComment:
        """Turn one mention into a post, or a comment when it replies to another post."""
        return post_from_v2(raw)


class Followers(RestStream[InboundFollow]):
    """The account's followers (``GET /2/users/:id/followers``), paged by ``pagination_token``.

    The list has no follow times and no order to resume from, so each pull walks it all; the item id names
    the standing relation and ingest absorbs the repeats. Limit: 300/15 min (x.md d).
    """

    name = "followers"
    path = "/2/users/{user_id}/followers"
    records = "data"
    paginator = NEXT_TOKEN
    params: ClassVar[Mapping[str, str | int]] = {"max_results": 1000, "user.fields": USER_FIELDS}

    def parse(self, raw: Any) -> InboundFollow:
        """Turn a follower's user object into a standing follow, dated when we pulled it."""
        sender = sender_from_v2(raw)
        account = self.creds["user_id"]
        external_id = f"follower:{sender.platform_user_id}:{account}"
        return InboundFollow(PLATFORM, external_id, sender, self.api.clock.now(), raw=raw)

"""Page feed and Instagram media: webhook ``changes`` and pulled posts, media and comments.

Identity: Meta gives a person who messages a Page a page-scoped id (PSID). The ``from.id`` of a comment or
reaction on the Page's own posts, read with the Page's token, is taken to be that same page-scoped id, so a
person who comments and then writes on Messenger is one ``Sender`` (``facebook:<id>``). Meta documents the
PSID for messaging and page-scoped user ids for Page content, but does not promise in one place that the two
always match [unverified: no retrieved Meta page states it]; it does not promise ``from`` at all (it can be
withheld, e.g. under privacy rules), and the ids differ between Pages and from Instagram ids. A comment whose
author Meta withholds keeps an empty ``platform_user_id``: Meta did not say who wrote it.

Page ``feed`` value fields (``item``, ``verb``, ``post_id``, ``comment_id``, ``parent_id``, ``from``,
``message``, ``created_time`` in epoch seconds, ``reaction_type``) follow the Page webhooks reference,
developers.facebook.com/docs/graph-api/webhooks/reference/page [doc-excerpt: the ``group_feed`` twin shows
the same fields]; Instagram ``comments`` values (``id``, ``from.{id,username}``, ``media.id``, ``parent_id``,
``text``) follow meta.md a (Instagram webhooks reference) [doc-excerpt].
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scrm.connectors.items import Inbound, InboundComment, InboundEvent, InboundPost, Sender
from scrm.connectors.meta.ids import Space, scoped
from scrm.connectors.meta.messaging import PLATFORM, person
from scrm.connectors.meta.timestamps import from_iso, from_seconds

POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})
# verb values of the feed field: add, edited, remove, hide, unhide (Page webhooks reference)
REMOVAL_KINDS = {"remove": "removed", "hide": "hidden", "unhide": "unhidden"}
UNKNOWN = Sender(platform_user_id="")


def parse_feed_change(value: Mapping[str, Any], page_id: str) -> Inbound | None:
    """Turn one Page ``feed`` change into an item; None for the Page's own comments and unknown items."""
    item, verb = value.get("item", ""), value.get("verb", "add")
    if item == "reaction":
        return _reaction(value)
    if verb in REMOVAL_KINDS and item in POST_ITEMS | {"comment"}:
        return _removal(value, item, verb)
    if item == "comment":
        author = value.get("from") or {}
        if str(author.get("id", "")) == page_id:
            return None  # the Page's own reply: the outbox has it, or a Page admin wrote it on Facebook
        return _comment(value, edited=verb == "edited")
    if item in POST_ITEMS:
        return _post(value)
    return None


def parse_page_mention(value: Mapping[str, Any], at: datetime) -> InboundEvent:
    """A post or comment mentioning the Page (``mention`` field: ``post_id``, ``comment_id``, ``sender_id``).

    Field names from the Page webhooks reference [unverified: not in a retrieved excerpt]; ``sender_id`` is
    read as a page-scoped id like a commenter's ``from.id``.
    """
    target = value.get("comment_id") or value["post_id"]
    sender = (
        person(Space.FACEBOOK, value["sender_id"], value.get("sender_name", "")) if "sender_id" in value else UNKNOWN
    )
    return InboundEvent(
        PLATFORM,
        scoped(Space.FACEBOOK, f"{target}:mention:{value.get('verb', 'add')}"),
        sender,
        at,
        kind="mention",
        key=scoped(Space.FACEBOOK, target),
        raw=value,
    )


def parse_instagram_change(field: str, value: Mapping[str, Any], at: datetime, account_id: str) -> Inbound | None:
    """Turn an Instagram ``comments``/``live_comments`` or ``mentions`` change into an item.

    Comment values carry no time, so the entry's ``time`` dates them. The account's own comments give None.
    """
    if field == "mentions":
        target = value.get("comment_id") or value["media_id"]
        external_id = scoped(Space.INSTAGRAM, f"{target}:mention")
        # the mentions value names only the media and comment, not who mentioned us
        return InboundEvent(
            PLATFORM, external_id, UNKNOWN, at, kind="mention", key=scoped(Space.INSTAGRAM, target), raw=value
        )
    if field not in {"comments", "live_comments"}:
        return None
    author = value.get("from") or {}
    if str(author.get("id", "")) == account_id:
        return None
    return instagram_comment(value, (value.get("media") or {}).get("id", ""), at)


def post_from_graph(raw: Mapping[str, Any]) -> InboundPost:
    """Turn a pulled Page post (``id``, ``message``, ``created_time``, ``permalink_url``, ``from``) into an item."""
    return InboundPost(
        platform=PLATFORM,
        external_id=scoped(Space.FACEBOOK, raw["id"]),
        author=author_of(raw, Space.FACEBOOK),
        at=from_iso(raw["created_time"]),
        text=raw.get("message", ""),
        url=raw.get("permalink_url", ""),
        raw=raw,
    )


def page_comment_from_graph(raw: Mapping[str, Any], post_id: str) -> InboundComment:
    """Turn a pulled Page comment (``id``, ``message``, ``created_time``, ``from``, ``parent``) into an item."""
    parent = (raw.get("parent") or {}).get("id", "")
    return InboundComment(
        platform=PLATFORM,
        external_id=scoped(Space.FACEBOOK, raw["id"]),
        post_id=scoped(Space.FACEBOOK, post_id),
        sender=author_of(raw, Space.FACEBOOK),
        at=from_iso(raw["created_time"]),
        text=raw.get("message", ""),
        parent_id=scoped(Space.FACEBOOK, parent) if parent else "",
        raw=raw,
    )


def media_from_graph(raw: Mapping[str, Any], account_id: str) -> InboundPost:
    """Turn pulled Instagram media (``id``, ``caption``, ``timestamp``, ``permalink``, ``username``) into a post."""
    return InboundPost(
        platform=PLATFORM,
        external_id=scoped(Space.INSTAGRAM, raw["id"]),
        author=person(Space.INSTAGRAM, account_id, username=raw.get("username", "")),
        at=from_iso(raw["timestamp"]),
        text=raw.get("caption", ""),
        url=raw.get("permalink", ""),
        raw=raw,
    )


def instagram_comment(raw: Mapping[str, Any], media_id: str, at: datetime | None = None) -> InboundComment:
    """Turn an Instagram comment (webhook value or pulled: ``timestamp``, ``username``) into an item."""
    parent = raw.get("parent_id", "")
    return InboundComment(
        platform=PLATFORM,
        external_id=scoped(Space.INSTAGRAM, raw["id"]),
        post_id=scoped(Space.INSTAGRAM, media_id),
        sender=author_of(raw, Space.INSTAGRAM),
        at=from_iso(raw["timestamp"]) if "timestamp" in raw else at or from_seconds(0),
        text=raw.get("text", ""),
        parent_id=scoped(Space.INSTAGRAM, parent) if parent else "",
        raw=raw,
    )


def author_of(raw: Mapping[str, Any], space: Space) -> Sender:
    """Return who wrote ``raw`` from its ``from`` (Facebook ``name``, Instagram ``username``), else ``UNKNOWN``."""
    author = raw.get("from") or {}
    if not author.get("id"):
        return UNKNOWN
    return person(space, author["id"], author.get("name", ""), author.get("username") or raw.get("username", ""))


def _comment(value: Mapping[str, Any], edited: bool) -> InboundComment:
    at, parent = from_seconds(value["created_time"]), value.get("parent_id", "")
    # a top-level comment names its post as parent_id; only a reply has a comment as parent
    return InboundComment(
        platform=PLATFORM,
        external_id=scoped(Space.FACEBOOK, value["comment_id"]),
        post_id=scoped(Space.FACEBOOK, value["post_id"]),
        sender=author_of(value, Space.FACEBOOK),
        at=at,
        text=value.get("message", ""),
        parent_id=scoped(Space.FACEBOOK, parent) if parent and parent != value["post_id"] else "",
        raw=value,
        edited_at=at if edited else None,
    )


def _post(value: Mapping[str, Any]) -> InboundPost:
    return InboundPost(
        platform=PLATFORM,
        external_id=scoped(Space.FACEBOOK, value["post_id"]),
        author=author_of(value, Space.FACEBOOK),
        at=from_seconds(value["created_time"]),
        text=value.get("message", ""),
        url=value.get("link", ""),
        raw=value,
    )


def _removal(value: Mapping[str, Any], item: str, verb: str) -> InboundEvent:
    """A post or comment removed or hidden: ``kind`` ``comment_removed``, ``post_hidden``...; ``key`` its id."""
    noun = "comment" if item == "comment" else "post"
    target = value["comment_id"] if noun == "comment" else value["post_id"]
    return InboundEvent(
        PLATFORM,
        scoped(Space.FACEBOOK, f"{target}:{verb}:{value['created_time']}"),
        author_of(value, Space.FACEBOOK),
        from_seconds(value["created_time"]),
        kind=f"{noun}_{REMOVAL_KINDS[verb]}",
        key=scoped(Space.FACEBOOK, target),
        raw=value,
    )


def _reaction(value: Mapping[str, Any]) -> InboundEvent:
    """A reaction on a post or comment: ``key`` is ``reaction_type`` (like, love...), ``conversation_id`` empty."""
    sender, verb = author_of(value, Space.FACEBOOK), value.get("verb", "add")
    target = value.get("comment_id") or value["post_id"]
    return InboundEvent(
        PLATFORM,
        scoped(Space.FACEBOOK, f"{target}:{sender.platform_user_id}:reaction:{verb}:{value['created_time']}"),
        sender,
        from_seconds(value["created_time"]),
        kind="reaction_removed" if verb == "remove" else "reaction",
        key=value.get("reaction_type", ""),
        raw=value,
    )

"""X Account Activity deliveries and API v2 records turned into inbound items.

Account Activity bodies (x.md a; ``xdevplatform/docs`` ``x-api/account-activity/introduction.mdx``) carry
``for_user_id`` (the subscribed account), one event array, and v1.1 user objects; pulled records are API v2
objects with ``includes.users`` joined in by the stream. Our own account's events (its DMs, posts and follows)
come back in the same arrays and are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrm.connectors.items import (
    Attachment,
    AttachmentKind,
    Inbound,
    InboundComment,
    InboundFollow,
    InboundMessage,
    InboundPost,
    Sender,
)

PLATFORM = "x"
ID_FIELDS = {"direct_message_events": "id", "tweet_create_events": "id_str"}


class PayloadError(ValueError):
    """A delivery body is not the JSON X sends."""


def crc_response(crc_token: str, consumer_secret: str) -> dict[str, str]:
    """Answer X's challenge-response check (GET ``?crc_token=``) with the JSON body it expects.

    x.md a: ``{"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, crc_token))}``, keyed with
    the app's consumer secret, never a bearer or access token. The ingress's ``x_crc_response_token`` computes
    the same value; this is the connector's side, for callers that only hold a connector.
    """
    digest = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return {"response_token": "sha256=" + base64.b64encode(digest).decode()}


def event_id(body: bytes) -> str:
    """Return the ingress dedupe id of one delivery.

    DM events carry ``id`` and posts ``id_str`` (x.md a: "Dedupe on event IDs"); a delivery holding one such
    event is known by ``<array>:<id>``, several by the SHA-256 of those. Follow, favourite and revoke events
    have no id of their own, so such a delivery is known by the SHA-256 of its raw bytes.
    """
    try:
        activity = _activity(body)
    except PayloadError:
        activity = {}
    ids = [
        f"{name}:{event[field]}"
        for name, field in ID_FIELDS.items()
        for event in activity.get(name) or []
        if isinstance(event, Mapping) and field in event
    ]
    if len(ids) == 1:
        return ids[0]
    source = "\n".join(ids).encode() if ids else body
    return "sha256:" + hashlib.sha256(source).hexdigest()


def parse_activity(body: bytes) -> list[Inbound]:
    """Turn one Account Activity delivery into items (DMs, mentions and replies, follows)."""
    activity = _activity(body)
    account = str(activity.get("for_user_id", ""))
    users = activity.get("users") or {}
    items: list[Inbound | None] = []
    for event in activity.get("direct_message_events") or []:
        items.append(_direct_message(event, account, users))
    for tweet in activity.get("tweet_create_events") or []:
        items.append(None if _v1_author(tweet).platform_user_id == account else post_from_v1(tweet))
    for follow in activity.get("follow_events") or []:
        items.append(_follow(follow, account))
    return [item for item in items if item is not None]


def revocation(body: bytes) -> str | None:
    """Return why the channel stopped working when the delivery says a user revoked the app, else None.

    The ``user_event.revoke`` delivery (samples/x_account_activity_user_event_revoke.json) is a channel-health
    signal, not a person's activity, so it yields no item.
    """
    revoke = (_activity(body).get("user_event") or {}).get("revoke")
    if not isinstance(revoke, Mapping):
        return None
    user = (revoke.get("source") or {}).get("user_id", "")
    return f"x: user {user} revoked the app's access at {revoke.get('date_time', '')}"


def revoked_by(body: bytes) -> str | None:
    """The user id whose grant a `user_event.revoke` delivery withdraws, else None."""
    revoke = (_activity(body).get("user_event") or {}).get("revoke")
    if not isinstance(revoke, Mapping):
        return None
    return str((revoke.get("source") or {}).get("user_id", ""))


def sender_from_v1(user: Mapping[str, Any]) -> Sender:
    """Turn a v1.1 user object (Account Activity ``users`` map, a post's ``user``) into a sender profile."""
    return Sender(
        platform_user_id=str(user.get("id_str") or user["id"]),
        display_name=user.get("name", ""),
        username=user.get("screen_name", ""),
        avatar_url=user.get("profile_image_url_https", ""),
        language=user.get("lang") or "",
    )


def sender_from_v2(user: Mapping[str, Any]) -> Sender:
    """Turn an API v2 user (``id``, ``name``, ``username``, ``profile_image_url``) into a sender profile."""
    return Sender(
        platform_user_id=str(user["id"]),
        display_name=user.get("name", ""),
        username=user.get("username", ""),
        avatar_url=user.get("profile_image_url", ""),
    )


def post_from_v1(tweet: Mapping[str, Any]) -> InboundPost | InboundComment:
    """Turn a v1.1 post from ``tweet_create_events``: a reply becomes a comment on the post it answers."""
    text = (tweet.get("extended_tweet") or {}).get("full_text") or tweet.get("text", "")
    at = _v1_time(tweet)
    parent = tweet.get("in_reply_to_status_id_str") or ""
    author = _v1_author(tweet)
    if parent:
        return InboundComment(PLATFORM, tweet["id_str"], parent, author, at, text=text, raw=tweet)
    url = f"https://x.com/{author.username}/status/{tweet['id_str']}" if author.username else ""
    return InboundPost(PLATFORM, tweet["id_str"], author, at, text=text, url=url, raw=tweet)


def post_from_v2(tweet: Mapping[str, Any]) -> InboundPost | InboundComment:
    """Turn an API v2 post (with ``author`` joined in from ``includes.users``); a reply becomes a comment."""
    author_data = tweet.get("author")
    author = sender_from_v2(author_data) if author_data else Sender(platform_user_id=str(tweet.get("author_id", "")))
    at = _iso_time(tweet["created_at"]) if "created_at" in tweet else datetime.fromtimestamp(0, UTC)
    replied = [ref["id"] for ref in tweet.get("referenced_tweets") or [] if ref.get("type") == "replied_to"]
    if replied:
        return InboundComment(PLATFORM, str(tweet["id"]), str(replied[0]), author, at, text=tweet["text"], raw=tweet)
    url = f"https://x.com/{author.username}/status/{tweet['id']}" if author.username else ""
    return InboundPost(PLATFORM, str(tweet["id"]), author, at, text=tweet["text"], url=url, raw=tweet)


def _activity(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise PayloadError("not a JSON object")
    return parsed


def _direct_message(event: Mapping[str, Any], account: str, users: Mapping[str, Any]) -> InboundMessage | None:
    """A ``message_create`` DM from someone else; the conversation is named by the other participant."""
    create = event.get("message_create")
    if event.get("type") != "message_create" or not create or str(create["sender_id"]) == account:
        return None
    sender_id = str(create["sender_id"])
    data = create.get("message_data") or {}
    profile = users.get(sender_id)
    return InboundMessage(
        platform=PLATFORM,
        external_id=str(event["id"]),
        conversation_id=sender_id,
        sender=sender_from_v1(profile) if profile else Sender(platform_user_id=sender_id),
        at=datetime.fromtimestamp(int(event["created_timestamp"]) / 1000, UTC),
        text=data.get("text", ""),
        attachments=_dm_attachments(data),
        raw=event,
    )


def _follow(follow: Mapping[str, Any], account: str) -> InboundFollow | None:
    """Someone (un)following our account; X gives the event no id, so one is built from its parts."""
    source, target = follow.get("source") or {}, follow.get("target") or {}
    if str(target.get("id_str") or target.get("id")) != account:
        return None  # our account followed someone
    sender = sender_from_v1(source)
    kind = follow.get("type", "follow")
    at = datetime.fromtimestamp(int(follow["created_timestamp"]) / 1000, UTC)
    external_id = f"{kind}:{sender.platform_user_id}:{account}:{follow['created_timestamp']}"
    return InboundFollow(PLATFORM, external_id, sender, at, following=kind == "follow", raw=follow)


def _dm_attachments(data: Mapping[str, Any]) -> tuple[Attachment, ...]:
    media = (data.get("attachment") or {}).get("media")
    if not isinstance(media, Mapping):
        return ()
    kind = AttachmentKind.IMAGE if media.get("type") == "photo" else AttachmentKind.VIDEO
    return (Attachment(kind, media_id=str(media.get("id_str", "")), url=media.get("media_url_https", "")),)


def _v1_author(tweet: Mapping[str, Any]) -> Sender:
    return sender_from_v1(tweet["user"])


def _v1_time(tweet: Mapping[str, Any]) -> datetime:
    """v1.1 posts carry ``timestamp_ms`` in Account Activity, and always ``created_at`` in RFC 2822 form."""
    if "timestamp_ms" in tweet:
        return datetime.fromtimestamp(int(tweet["timestamp_ms"]) / 1000, UTC)
    return parsedate_to_datetime(tweet["created_at"]).astimezone(UTC)


def _iso_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

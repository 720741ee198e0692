"""The demo's history as the platforms would have delivered it: signed bodies, parsed by each connector.

Messages, posts and comments are built as real Telegram updates, WeChat safe-mode pushes, Meta webhooks and
API-channel batches at past times, then read back by the connectors exactly as webhook deliveries are — so
the demo goes through the same parsing, identity resolution, threading and tagging as live traffic.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from scrm.channel_access import ChannelAccess
from scrm.connectors.items import Inbound
from scrm.connectors.registry import get_connector
from scrm.connectors.stores import TokenStore
from scrm.demo.samples import Visitor
from scrm.demo.timeline import Timeline
from scrm.demo.traffic import BUILDERS, Delivery
from scrm.events import Where

Spec = Mapping[str, Any]


def visitor_of(contact: Spec) -> Visitor:
    """The demo person behind a contact spec (their platform ids derive from the visitor number)."""
    return Visitor(int(contact["visitor"]), str(contact["name"]), str(contact["language"]))


def iter_history(
    data: Spec, channels: Mapping[str, ChannelAccess], timeline: Timeline
) -> Iterator[tuple[ChannelAccess, Delivery]]:
    """Every inbound message, post and comment of the demo, as signed deliveries, oldest first per thread."""
    now = timeline.now
    contacts = {c["key"]: c for c in data["contacts"]}
    for index, conversation in enumerate(data["conversations"]):
        channel, visitor = channels[conversation["channel"]], visitor_of(contacts[conversation["contact"]])
        for turn, message in enumerate(conversation["messages"]):
            if message["in"]:
                at = timeline.at(message)
                number = 900_000 + index * 100 + turn
                yield channel, BUILDERS[channel.platform](channel, visitor, message["text"], number, at)
    for post in data["posts"]:
        channel = channels[post["channel"]]
        yield channel, _post_delivery(channel, post, now)
        for comment in post["comments"]:
            yield channel, _comment_delivery(channel, post, comment, visitor_of(contacts[comment["contact"]]), now)


def answer_deliveries(
    data: Spec, channels: Mapping[str, ChannelAccess], timeline: Timeline, surveyed: Collection[int]
) -> Iterator[tuple[ChannelAccess, Delivery]]:
    """The contacts' answers to the satisfaction surveys of the demo's conversations (by index) that were
    surveyed, as deliveries."""
    contacts = {c["key"]: c for c in data["contacts"]}
    for index, conversation in enumerate(data["conversations"]):
        answer = conversation.get("csat_answer")
        if answer is not None and index in surveyed:
            channel, visitor = channels[conversation["channel"]], visitor_of(contacts[conversation["contact"]])
            number = 990_000 + index
            yield channel, BUILDERS[channel.platform](channel, visitor, answer["text"], number, timeline.at(answer))


def parse_history(
    deliveries: Iterator[tuple[ChannelAccess, Delivery]], tokens: TokenStore
) -> list[tuple[Inbound, Where]]:
    """The items of the deliveries, read by each platform's connector as the worker reads webhooks."""
    batch: list[tuple[Inbound, Where]] = []
    for channel, delivery in deliveries:
        connector = get_connector(channel.platform, tokens)
        where = Where(channel.workspace_id, channel.channel_id, channel.platform)
        batch.extend((item, where) for item in connector.parse_webhook(delivery.body, channel.credentials))
    return batch


def _post_delivery(channel: ChannelAccess, post: Spec, now: datetime) -> Delivery:
    at = now - timedelta(hours=post["hours_ago"])
    if channel.platform == "meta":
        page = str(channel.config.get("page_id", ""))
        value = {"item": "status", "verb": "add", "post_id": f"{page}_{post['key']}", "message": post["text"],
                 "created_time": int(at.timestamp()), "from": {"id": page, "name": "Demo Coffee"}}  # fmt: skip
        return _meta_feed(channel, value, at)
    event = {"type": "post", "id": f"post-{post['key']}", "text": post["text"], "at": at.isoformat()}
    return _api_batch(event)


def _comment_delivery(channel: ChannelAccess, post: Spec, comment: Spec, visitor: Visitor, now: datetime) -> Delivery:
    at = now - timedelta(minutes=comment["minutes_ago"])
    if channel.platform == "meta":
        page = str(channel.config.get("page_id", ""))
        post_id = f"{page}_{post['key']}"
        value = {"item": "comment", "verb": "add", "post_id": post_id, "parent_id": post_id,
                 "comment_id": f"{post['key']}_{comment['key']}", "message": comment["text"],
                 "created_time": int(at.timestamp()),
                 "from": {"id": f"72000{visitor.number:011d}", "name": visitor.name}}  # fmt: skip
        return _meta_feed(channel, value, at)
    event = {"type": "comment", "id": f"comment-{comment['key']}", "post_id": f"post-{post['key']}",
             "from": {"id": f"visitor-{visitor.number}", "name": visitor.name, "language": visitor.language},
             "text": comment["text"], "at": at.isoformat()}  # fmt: skip
    return _api_batch(event)


def _meta_feed(channel: ChannelAccess, value: dict[str, Any], at: datetime) -> Delivery:
    page = str(channel.config.get("page_id", ""))
    entry = {"id": page, "time": int(at.timestamp()), "changes": [{"field": "feed", "value": value}]}
    body = json.dumps({"object": "page", "entry": [entry]}).encode()
    digest = hmac.new(channel.credentials.get("app_secret", "").encode(), body, hashlib.sha256).hexdigest()
    return Delivery(f"/webhooks/meta/{channel.channel_id}", body, {"x-hub-signature-256": f"sha256={digest}"})


def _api_batch(event: dict[str, Any]) -> Delivery:
    body = json.dumps({"events": [event]}, ensure_ascii=False).encode()
    return Delivery("/api/v1/channels/inbound", body, {"content-type": "application/json"})

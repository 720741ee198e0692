"""Meta webhook notifications turned into items, the delivery's event id, and the subscription handshake.

Every Meta product posts the same envelope: ``{"object": ..., "entry": [...]}``, and several entries may come
in one body ("Iterate through each entry as multiple entries can sometimes be batched", official sample app,
meta.md a). ``object`` says which product:

- ``page``: ``entry[].messaging[]`` Messenger events and ``entry[].changes[]`` with the ``feed`` and
  ``mention`` fields;
- ``instagram``: ``entry[].messaging[]`` Instagram Direct events and ``changes[]`` ``comments``,
  ``live_comments`` and ``mentions``;
- ``whatsapp_business_account``: ``entry[].changes[]`` whose ``messages`` value holds messages and statuses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scrm.connectors.items import Inbound
from scrm.connectors.meta.feed import parse_feed_change, parse_instagram_change, parse_page_mention
from scrm.connectors.meta.ids import Space
from scrm.connectors.meta.messaging import parse_messaging_event
from scrm.connectors.meta.timestamps import from_millis, from_seconds
from scrm.connectors.meta.whatsapp import parse_whatsapp_value


def event_id(body: bytes) -> str:
    """Return the delivery's event id: the SHA-256 hex digest of the raw body.

    Meta sends no delivery id (no header, no envelope field; meta.md a) and a body may batch entries from
    several people, so no single item id can name it. A retry that repeats the same bytes gets the same id
    and is dropped at the door; Meta does not document whether a retry resends the same bytes or batches
    differently [unverified], and a differently batched retry gets another id, after which ingest still
    stores each item once through its own ``external_id``.
    """
    return hashlib.sha256(body).hexdigest()


def verify_subscription(params: Mapping[str, str], verify_token: str) -> str | None:
    """Answer the subscription check: ``hub.challenge`` when the mode and the token match, else None.

    meta.md a: the dashboard sends ``GET ?hub.mode=subscribe&hub.challenge=...&hub.verify_token=...`` and the
    endpoint must check the token and echo the challenge. The token is compared in constant time.
    """
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    given = params.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge")


def parse_body(body: bytes) -> list[Inbound]:
    """Turn a verified webhook body into items; raises ``ValueError`` when it is not JSON."""
    notification = json.loads(body)
    if not isinstance(notification, Mapping):
        raise ValueError("a Meta notification is a JSON object")
    return parse_notification(notification)


def parse_notification(notification: Mapping[str, Any]) -> list[Inbound]:
    """Turn one notification (any product) into items, entry by entry; unknown objects give none."""
    kind = notification.get("object")
    items: list[Inbound] = []
    for entry in notification.get("entry", []):
        if kind == "page":
            items.extend(_page_entry(entry))
        elif kind == "instagram":
            items.extend(_instagram_entry(entry))
        elif kind == "whatsapp_business_account":
            for change in entry.get("changes", []):
                if change.get("field") == "messages":
                    items.extend(parse_whatsapp_value(change.get("value") or {}))
    return items


def _page_entry(entry: Mapping[str, Any]) -> list[Inbound]:
    items: list[Inbound] = []
    for event in entry.get("messaging", []):
        items.extend(parse_messaging_event(event, Space.FACEBOOK))
    for change in entry.get("changes", []):
        field, value = change.get("field"), change.get("value") or {}
        if field == "feed":
            item = parse_feed_change(value, str(entry.get("id", "")))
        elif field == "mention":
            item = parse_page_mention(value, _entry_time(entry))
        else:
            item = None
        if item is not None:
            items.append(item)
    return items


def _instagram_entry(entry: Mapping[str, Any]) -> list[Inbound]:
    items: list[Inbound] = []
    for event in entry.get("messaging", []):
        items.extend(parse_messaging_event(event, Space.INSTAGRAM))
    for change in entry.get("changes", []):
        field, value = str(change.get("field", "")), change.get("value") or {}
        item = parse_instagram_change(field, value, _entry_time(entry), str(entry.get("id", "")))
        if item is not None:
            items.append(item)
    return items


def _entry_time(entry: Mapping[str, Any]) -> datetime:
    """Read ``entry.time``: epoch seconds in the Graph sample (meta.md a).

    A value too large for seconds is read as milliseconds, which Messenger uses for its own timestamps and
    which some products are said to send here too [unverified].
    """
    time = int(entry.get("time", 0))
    return from_millis(time) if time > 10**11 else from_seconds(time)

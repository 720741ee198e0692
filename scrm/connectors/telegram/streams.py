"""Telegram pull streams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from scrm.connectors.http import RestStream
from scrm.connectors.items import Inbound
from scrm.connectors.paginators import UpdateOffset
from scrm.connectors.telegram.payloads import parse_update


class Updates(RestStream[Inbound]):
    """Pending bot updates through ``getUpdates``: the pull alternative to the webhook.

    Unusable while a webhook is set (409 "Conflict: can't use getUpdates method while webhook is active",
    telegram.md d). The stored cursor is the last ``update_id`` handled and is sent back as ``offset``, which
    returns that update again (``>=``) and confirms every earlier one. ``timeout=0``: no long polling, so a
    pull ends when the queue is drained.
    """

    name = "updates"
    path = "/getUpdates"
    records = "result"
    paginator = UpdateOffset(id_field="update_id", param="offset")
    params: ClassVar[Mapping[str, str | int]] = {
        "timeout": 0,
        "limit": 100,
    }  # limit is clamped to 1..100 (telegram.md d)
    cursor_field = "update_id"
    cursor_param = "offset"
    ordered = True

    def parse(self, raw: Any) -> Inbound | None:
        """Turn one Update into an item."""
        return parse_update(raw)

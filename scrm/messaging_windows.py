"""Messaging windows: how long after a person's last message each platform still lets us write to them.

Checked before the platform call, so a message that cannot go out fails with a reason people can read and
without spending a call (or a quota) on a refusal. The platform remains the judge: a window it closes sooner
still surfaces as `MessagingWindowClosed` from the connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scrm.connectors.base import Reply, ReplyKind
from scrm.connectors.meta.ids import Space, split_scoped
from scrm.connectors.meta.send import messaging_window as meta_window

WECHAT_CUSTOMER_SERVICE = timedelta(hours=48)
# WeChat customer-service messages: "5 messages within 48 hours" after the user writes (wechat.md c,
# developers.weixin.qq.com/doc/service/en/api/customer/message/api_sendcustommessage).
WECOM_CUSTOMER_SERVICE = timedelta(hours=48)
# WeCom customer service (kf/send_msg): the customer must have written within 48 hours, 5 messages at most
# (the WeCom connector's send, from the sync_msg and send_msg references).


@dataclass(frozen=True, slots=True)
class Window:
    """A messaging window: its length and how people call it."""

    length: timedelta
    name: str


def window_for(platform: str, reply: Reply) -> Window | None:
    """Return the window `reply` must fit in on `platform`, or None when the platform has none for it.

    Telegram, LINE and X have no window (telegram.md c, line.md c: LINE's limit is a monthly push quota).
    """
    if platform == "wechat":
        return Window(WECHAT_CUSTOMER_SERVICE, "WeChat's 48-hour customer-service window")
    if platform == "wecom":
        return Window(WECOM_CUSTOMER_SERVICE, "WeCom's 48-hour customer-service window")
    if platform == "meta":
        return _meta_window(reply)
    return None


def closed_reason(platform: str, reply: Reply, last_inbound_at: datetime | None, now: datetime) -> str | None:
    """Say why `reply` cannot go out now because of the platform's window, or None when it may."""
    window = window_for(platform, reply)
    if window is None:
        return None
    if last_inbound_at is None:
        return f"outside {window.name}: the contact has never written to this channel"
    if now - last_inbound_at <= window.length:
        return None
    return f"outside {window.name}: the contact last wrote {_hours(now - last_inbound_at)} ago"


def _meta_window(reply: Reply) -> Window | None:
    """Meta's windows come from the connector (Messenger and Instagram 24 h, 7 days with HUMAN_AGENT,
    WhatsApp 24 h then templates only); comment replies and templates have none."""
    if reply.kind in (ReplyKind.COMMENT, ReplyKind.TEMPLATE, ReplyKind.PRIVATE_REPLY):
        # A private reply's 7 days count from the comment, which the row does not know: Meta judges it.
        return None
    try:
        space, _ = split_scoped(reply.to)
        length = meta_window(reply)
    except ValueError:
        return None  # not a Meta id: the connector refuses it with its own reason
    if space is Space.WHATSAPP:
        return Window(length, "WhatsApp's 24-hour customer-service window (only a template may go out after it)")
    product = "Instagram" if space is Space.INSTAGRAM else "Messenger"
    if reply.tag == "HUMAN_AGENT":
        return Window(length, f"{product}'s 7-day human-agent window")
    return Window(length, f"{product}'s 24-hour messaging window (a HUMAN_AGENT tag allows 7 days)")


def _hours(elapsed: timedelta) -> str:
    hours = int(elapsed.total_seconds() // 3600)
    return f"{hours} hours" if hours < 72 else f"{hours // 24} days"

"""Messaging windows: how long after a person's last message each platform still lets us write to them.

Checked before the platform call, so a message that cannot go out fails with a reason people can read and
without spending a call (or a quota) on a refusal. The platform remains the judge: a window it closes sooner
still surfaces as `MessagingWindowClosed` from the connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scrm.connectors.base import Reply, ReplyKind
from scrm.connectors.line.payloads import REPLY_TOKEN_TTL as LINE_REPLY_TOKEN
from scrm.connectors.meta.ids import Space, split_scoped
from scrm.connectors.meta.send import messaging_window as meta_window

WECHAT_CUSTOMER_SERVICE = timedelta(hours=48)
# WeChat customer-service messages: "5 messages within 48 hours" after the user writes (wechat.md c,
# developers.weixin.qq.com/doc/service/en/api/customer/message/api_sendcustommessage).
WECOM_CUSTOMER_SERVICE = timedelta(hours=48)
# WeCom customer service (微信客服, kf/send_msg): "仅当微信客户在主动发送消息给客服后的48小时内，企业可发送消息给客户，
# 最多可发送5条消息；若用户继续发送消息，企业可再次下发消息" (developer.work.weixin.qq.com/document/path/94677, read in
# verbatim copies). We count the 5 messages too (`message_limit`); the platform stays the judge of sends we do not know.
WINDOW_MESSAGES = {"wechat": 5, "wecom": 5}
"""At most this many messages per window on these platforms, counted from the contact's last message."""


@dataclass(frozen=True, slots=True)
class Window:
    """A messaging window: its length and how people call it."""

    length: timedelta
    name: str
    key: str = ""
    """A stable name of the window (`wechat_48h`, `messenger_24h`...), for UI text in each language."""


def window_for(platform: str, reply: Reply) -> Window | None:
    """Return the window `reply` must fit in on `platform`, or None when the platform has none for it.

    Telegram, LINE and X have no window (telegram.md c, line.md c: LINE's limit is a monthly push quota).
    """
    if platform == "wechat":
        return Window(WECHAT_CUSTOMER_SERVICE, "WeChat's 48-hour customer-service window", "wechat_48h")
    if platform == "wecom":
        return Window(WECOM_CUSTOMER_SERVICE, "WeCom's 48-hour customer-service window", "wecom_48h")
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


NEVER_WROTE = "messaging_window_never_opened"
EXPIRED = "messaging_window_expired"


def closed_code(platform: str, reply: Reply, last_inbound_at: datetime | None, now: datetime) -> str | None:
    """The stable code of `closed_reason`: NEVER_WROTE, EXPIRED, or None when the reply may go out."""
    if closed_reason(platform, reply, last_inbound_at, now) is None:
        return None
    return NEVER_WROTE if last_inbound_at is None else EXPIRED


LIMIT_REACHED = "messaging_window_message_limit"


def message_limit(platform: str) -> int | None:
    """How many messages the platform lets us send between two messages of the contact, or None without a count."""
    return WINDOW_MESSAGES.get(platform)


def limit_reason(platform: str, sent: int) -> str | None:
    """Say why one more message would break the platform's count of `sent` messages in the window, or None."""
    limit = message_limit(platform)
    if limit is None or sent < limit:
        return None
    window = window_for(platform, Reply(to="", text=""))
    name = window.name if window else platform
    return f"beyond the {limit} messages {name} allows: {sent} already went out since the contact last wrote"


def reply_token_lifetime(platform: str) -> timedelta | None:
    """How long after an inbound message its reply token still works, or None on platforms without one.

    LINE: "within one minute" of the webhook, and once only (the LINE connector's payloads cite the reference).
    """
    return LINE_REPLY_TOKEN if platform == "line" else None


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
        return Window(
            length, "WhatsApp's 24-hour customer-service window (only a template may go out after it)", "whatsapp_24h"
        )
    product = "Instagram" if space is Space.INSTAGRAM else "Messenger"
    if reply.tag == "HUMAN_AGENT":
        return Window(length, f"{product}'s 7-day human-agent window", f"{product.lower()}_human_agent")
    return Window(
        length, f"{product}'s 24-hour messaging window (a HUMAN_AGENT tag allows 7 days)", f"{product.lower()}_24h"
    )


def _hours(elapsed: timedelta) -> str:
    hours = int(elapsed.total_seconds() // 3600)
    return f"{hours} hours" if hours < 72 else f"{hours // 24} days"

"""`scrm demo traffic`: sign and post realistic deliveries to a running scrm, as the platforms would.

Each request goes through real HTTP to `/webhooks/{platform}/{channel_id}` (or the generic API channel's
inbound endpoint), signed with the demo channel's own credentials, so that a newcomer sees messages arrive
in the UI and a benchmark has a realistic client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count

import httpx

from scrm.channel_access import ChannelAccess
from scrm.connectors.wechat.crypto import MessageCrypto
from scrm.demo.samples import Visitor, pick_text, pick_visitor

SUPPORTED = ("telegram", "wechat", "meta", "api")


def platform_user_id(platform: str, visitor: Visitor) -> str:
    """The id a platform gives this demo visitor (as the connector names it)."""
    ids = {
        "telegram": str(7_000_000 + visitor.number),
        "wechat": f"oDemo{visitor.number:06d}visitor",
        "meta": f"facebook:72000{visitor.number:011d}",
        "api": f"visitor-{visitor.number}",
    }
    return ids[platform]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One signed HTTP request, ready to send."""

    path: str
    body: bytes
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class TrafficReport:
    """What happened: answers by status code, and latencies in seconds."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def sent(self) -> int:
        """Requests that got an answer."""
        return sum(self.statuses.values())

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (0 without answers)."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0.0


class DeliveryFactory:
    """Builds signed deliveries for the demo channels, from a seeded random generator."""

    def __init__(self, channels: list[ChannelAccess], seed: int = 7) -> None:
        self.channels = [c for c in channels if c.platform in SUPPORTED]
        if not self.channels:
            raise ValueError("The workspace has no channel scrm can send demo traffic to (telegram, wechat, meta, api)")
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.numbers = count(int(time.time() * 1000))

    def next(self) -> Delivery:
        """A new delivery on one of the channels, from a recurring visitor."""
        channel = self.rng.choice(self.channels)
        visitor = pick_visitor(self.rng)
        text = pick_text(self.rng, visitor)
        build = BUILDERS[channel.platform]
        return build(channel, visitor, text, next(self.numbers), datetime.now(UTC))


def telegram_delivery(channel: ChannelAccess, visitor: Visitor, text: str, number: int, at: datetime) -> Delivery:
    """A Telegram Update with a private text message, with the webhook's secret token header."""
    user = {"id": int(platform_user_id("telegram", visitor)), "is_bot": False, "first_name": visitor.name,
            "language_code": "zh-hans" if visitor.language == "zh" else "en"}  # fmt: skip
    update = {"update_id": number % 2_000_000_000, "message": {
        "message_id": number % 2_000_000_000, "from": user, "chat": {"id": user["id"], "type": "private"},
        "date": int(at.timestamp()), "text": text}}  # fmt: skip
    headers = {"content-type": "application/json",
               "x-telegram-bot-api-secret-token": channel.credentials.get("secret_token", "")}  # fmt: skip
    return Delivery(f"/webhooks/telegram/{channel.channel_id}", json.dumps(update).encode(), headers)


def wechat_delivery(channel: ChannelAccess, visitor: Visitor, text: str, number: int, at: datetime) -> Delivery:
    """A WeChat text message push, encrypted (safe mode) when the channel has an EncodingAESKey."""
    creds = channel.credentials
    openid = platform_user_id("wechat", visitor)
    xml = (f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{number}</MsgId></xml>")  # fmt: skip
    timestamp, nonce = str(int(time.time())), str(number % 1_000_000)
    params = {"timestamp": timestamp, "nonce": nonce, "openid": openid,
              "signature": hashlib.sha1("".join(sorted([creds["token"], timestamp, nonce])).encode()).hexdigest()}  # noqa: S324  # fmt: skip
    body = xml
    if creds.get("encoding_aes_key"):
        crypto = MessageCrypto(creds["token"], creds["encoding_aes_key"], creds.get("app_id", ""))
        encrypt = crypto.encrypt(xml)
        body = f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        params |= {"encrypt_type": "aes", "msg_signature": crypto.signature(timestamp, nonce, encrypt)}
    return Delivery(f"/webhooks/wechat/{channel.channel_id}", body.encode(), {"content-type": "text/xml"}, params)


def meta_delivery(channel: ChannelAccess, visitor: Visitor, text: str, number: int, at: datetime) -> Delivery:
    """A Messenger text message to the Page, signed with the app secret (X-Hub-Signature-256)."""
    page = str(channel.config.get("page_id") or channel.credentials.get("page_id", "104900000000001"))
    now_ms = int(at.timestamp() * 1000)
    psid = platform_user_id("meta", visitor).removeprefix("facebook:")
    message = {"mid": f"m_demo_{number}", "text": text}
    event = {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": now_ms, "message": message}
    body = json.dumps({"object": "page", "entry": [{"id": page, "time": now_ms, "messaging": [event]}]}).encode()
    digest = hmac.new(channel.credentials.get("app_secret", "").encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}
    return Delivery(f"/webhooks/meta/{channel.channel_id}", body, headers)


def api_delivery(channel: ChannelAccess, visitor: Visitor, text: str, number: int, at: datetime) -> Delivery:
    """A generic API channel batch with one message, with the channel's inbound token."""
    event = {"type": "message", "id": f"web-{number}", "conversation_id": platform_user_id("api", visitor),
             "from": {"id": platform_user_id("api", visitor), "name": visitor.name, "language": visitor.language},
             "text": text, "at": at.astimezone(UTC).isoformat()}  # fmt: skip
    headers = {"content-type": "application/json",
               "authorization": f"Bearer {channel.credentials.get('inbound_token', '')}"}  # fmt: skip
    body = json.dumps({"events": [event]}, ensure_ascii=False).encode()
    return Delivery(f"/api/v1/channels/{channel.channel_id}/inbound", body, headers)


BUILDERS: Mapping[str, Callable[[ChannelAccess, Visitor, str, int, datetime], Delivery]] = {
    "telegram": telegram_delivery,
    "wechat": wechat_delivery,
    "meta": meta_delivery,
    "api": api_delivery,
}


async def send_traffic(
    base_url: str,
    factory: DeliveryFactory,
    rate: float,
    duration: float,
    on_answer: Callable[[int], None] | None = None,
) -> TrafficReport:
    """Send `rate` deliveries per second for `duration` seconds; answers are counted by status code."""
    report, total = TrafficReport(), max(1, int(rate * duration))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
        start, tasks = time.perf_counter(), []
        for number in range(total):
            delay = start + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_post(http, factory.next(), report, on_answer)))
        await asyncio.gather(*tasks)
    return report


async def _post(
    http: httpx.AsyncClient, delivery: Delivery, report: TrafficReport, on_answer: Callable[[int], None] | None
) -> None:
    started = time.perf_counter()
    try:
        response = await http.post(delivery.path, content=delivery.body, headers=delivery.headers,
                                   params=delivery.params)  # fmt: skip
    except httpx.HTTPError:
        report.errors += 1
        return
    report.latencies.append(time.perf_counter() - started)
    report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
    if on_answer is not None:
        on_answer(response.status_code)

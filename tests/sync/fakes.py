"""The platforms' side of pull sync, faked at the httpx transport: Telegram's getUpdates and WeChat's user APIs.

Each fake keeps the state the real server keeps (Telegram's update queue confirmed by offset, WeChat's
current access token), so a client that asks for the wrong thing gets what the real API would give it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from scrm.pulling import StreamResult
from tests.platform_fakes import TELEGRAM_CREDENTIALS, WECHAT_CREDENTIALS

BOT_API = f"https://api.telegram.org/bot{TELEGRAM_CREDENTIALS['bot_token']}"
WECHAT_API = "https://api.weixin.qq.com/cgi-bin"
FIRST_UPDATE = 900_000_001


class PlatformCrashed(RuntimeError):
    """The fake platform's connection died mid-sync (stands in for the process being killed)."""


def bot_answer(status: int, body: dict[str, Any]) -> httpx.Response:
    """A Bot API answer in its envelope (telegram.md c)."""
    return httpx.Response(status, json=body)


def update(update_id: int) -> dict[str, Any]:
    """An Update with a private text message; seven people take turns writing."""
    user = 7000 + update_id % 7
    sender = {"id": user, "is_bot": False, "first_name": f"User {user}", "language_code": "en"}
    message = {
        "message_id": update_id - FIRST_UPDATE + 1,
        "from": sender,
        "chat": {"id": user, "type": "private", "first_name": sender["first_name"]},
        "date": 1779270000 + update_id - FIRST_UPDATE,
        "text": f"message {update_id}",
    }
    return {"update_id": update_id, "message": message}


@dataclass
class FakeBotApi:
    """`getUpdates` as the Bot API server answers it (telegram.md d).

    Updates below the offset asked for are confirmed and dropped for good; a webhook makes it answer 409;
    `throttle` answers the next call with 429 and `parameters.retry_after`; `crash_after` raises once a
    call would serve more than that many updates in all, after confirming what its offset confirms.
    """

    queue: list[dict[str, Any]] = field(default_factory=list)
    offsets: list[int | None] = field(default_factory=list)
    next_id: int = FIRST_UPDATE
    served: int = 0
    webhook_set: bool = False
    throttle: int | None = None
    crash_after: int | None = None
    unauthorized: bool = False

    def add(self, count: int) -> None:
        """New updates arrive for the bot."""
        for _ in range(count):
            self.queue.append(update(self.next_id))
            self.next_id += 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        offset = int(params["offset"]) if "offset" in params else None
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        self.offsets.append(offset)
        if self.webhook_set:
            text = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete it first"
            return bot_answer(409, {"ok": False, "error_code": 409, "description": text})
        if self.throttle is not None:
            seconds, self.throttle = self.throttle, None
            body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {seconds}"}
            return bot_answer(429, {**body, "parameters": {"retry_after": seconds}})
        if offset is not None:
            self.queue = [u for u in self.queue if u["update_id"] >= offset]
        page = self.queue[:limit]
        if self.crash_after is not None and self.served + len(page) > self.crash_after:
            self.crash_after = None
            raise PlatformCrashed("the connection died while answering getUpdates")
        self.served += len(page)
        return bot_answer(200, {"ok": True, "result": page})

    def mount(self, router: respx.MockRouter) -> respx.Route:
        """Answer the bot's `getUpdates` calls."""
        return router.get(f"{BOT_API}/getUpdates").mock(side_effect=self)


@dataclass
class FakeOfficialAccount:
    """The Official Account API (wechat.md d): access tokens, `user/get` paged by `next_openid`, `user/info/batchget`.

    Only the newest token works; `expire_next` makes the next call answer 42001 and invalidates the token,
    `revoked` answers 40001 to everything (the AppSecret was reset). `crash_after` raises once more than that
    many profiles would have been served.
    """

    openids: list[str] = field(default_factory=list)
    page_size: int = 10_000
    issued: list[str] = field(default_factory=list)
    next_openids: list[str] = field(default_factory=list)
    profiles_served: int = 0
    expire_next: bool = False
    revoked: bool = False
    crash_after: int | None = None

    def follow(self, count: int) -> None:
        """New people follow the account."""
        start = len(self.openids)
        self.openids.extend(f"oFollower{i:06d}" for i in range(start, start + count))

    def token(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params["appid"] == WECHAT_CREDENTIALS["app_id"]
        self.issued.append(f"TOKEN{sum(token.startswith('TOKEN') for token in self.issued) + 1}")
        return httpx.Response(200, json={"access_token": self.issued[-1], "expires_in": 7200})

    def refusal(self, request: httpx.Request) -> httpx.Response | None:
        """The errcode answer for a call with a bad token, or None when the token is the current one."""
        if self.revoked:
            return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
        if self.expire_next:
            self.expire_next = False
            self.issued.append("EXPIRED")
        if not self.issued or request.url.params.get("access_token") != self.issued[-1]:
            return httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token expired"})
        return None

    def user_get(self, request: httpx.Request) -> httpx.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        after = request.url.params.get("next_openid", "")
        self.next_openids.append(after)
        start = self.openids.index(after) + 1 if after else 0
        page = self.openids[start : start + self.page_size]
        body: dict[str, Any] = {"total": len(self.openids), "count": len(page), "next_openid": page[-1] if page else ""}
        if page:
            body["data"] = {"openid": page}
        return httpx.Response(200, json=body)

    def batchget(self, request: httpx.Request) -> httpx.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        wanted = [entry["openid"] for entry in json.loads(request.content)["user_list"]]
        assert len(wanted) <= 100
        if self.crash_after is not None and self.profiles_served + len(wanted) > self.crash_after:
            self.crash_after = None
            raise PlatformCrashed("the connection died while answering user/info/batchget")
        self.profiles_served += len(wanted)
        return httpx.Response(200, json={"user_info_list": [profile(openid) for openid in wanted]})

    def mount(self, router: respx.MockRouter) -> None:
        """Answer the token, follower-list and profile calls."""
        router.get(f"{WECHAT_API}/token").mock(side_effect=self.token)
        router.get(f"{WECHAT_API}/user/get").mock(side_effect=self.user_get)
        router.post(f"{WECHAT_API}/user/info/batchget").mock(side_effect=self.batchget)


def profile(openid: str) -> dict[str, Any]:
    """A current follower's `user/info` profile."""
    number = int(openid.removeprefix("oFollower"))
    return {
        "subscribe": 1,
        "openid": openid,
        "nickname": f"粉丝{number}",
        "language": "zh_CN",
        "subscribe_time": 1767258300 + number,
    }


@dataclass
class RecordingObserver:
    """Remembers what a pull reported."""

    started: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)
    finished: list[StreamResult] = field(default_factory=list)

    def stream_started(self, stream: str) -> None:
        self.started.append(stream)

    def items_pulled(self, stream: str, total: int) -> None:
        self.counts[stream] = total

    def waiting(self, seconds: float) -> None:
        self.waits.append(seconds)

    def stream_finished(self, result: StreamResult) -> None:
        self.finished.append(result)

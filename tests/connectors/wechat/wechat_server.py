"""The Official Account API's customer-service side as the send tests meet it, behind the httpx transport (respx).

- `GET token?grant_type=client_credential&appid&secret` → `access_token`, `expires_in` 7200 (wechat.md d); a wrong or
  reset AppSecret answers 40001, a caller outside the IP whitelist 40164 with the caller's address in `errmsg`
  ("invalid ip … ipv6 ::ffff:…, not in whitelist rid: …").
- `POST message/custom/send` {touser, msgtype, text} → `{"errcode":0,"errmsg":"ok"}` (wechat.md c, no message id):
  5 messages within 48 hours of the user's last message; 45015 outside those 48 hours, 45047 past the 5.
- `refuse` answers the next calls with a given errcode (48001 api unauthorized, 45009 daily quota); only the
  newest token works, older ones answer 42001. Every errcode comes in an HTTP 200 body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

API = "https://api.weixin.qq.com/cgi-bin"
WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    48001: "api unauthorized",
}


def answer(code: int = 0, message: str = "ok", **body: Any) -> httpx.Response:
    """An API answer: always HTTP 200, the outcome in `errcode`."""
    return httpx.Response(200, json={"errcode": code, "errmsg": message, **body})


@dataclass
class OfficialAccountServer:
    """One Official Account: its AppSecret, whitelist, tokens and each user's customer-service quota."""

    app_id: str
    app_secret: str
    clock: float
    """Seconds since the epoch, as the platform sees it now."""
    caller_ip: str = "203.0.113.7"
    whitelisted: bool = True
    issued: list[str] = field(default_factory=list)
    last_wrote: dict[str, float] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    refuse: list[int] = field(default_factory=list)

    def user_writes(self, openid: str, at: float) -> None:
        """The user sends the account a message: 5 customer-service messages for 48 hours."""
        self.last_wrote[openid] = at

    def mount(self, router: respx.MockRouter) -> None:
        """Answer the token and customer-service calls."""
        router.get(f"{API}/token").mock(side_effect=self.token)
        router.post(f"{API}/message/custom/send").mock(side_effect=self.custom_send)

    def _caller_refused(self) -> httpx.Response | None:
        if not self.whitelisted:
            ip = self.caller_ip
            return answer(40164, f"invalid ip {ip} ipv6 ::ffff:{ip}, not in whitelist rid: 6571a9f2-5c0f7a1b-1e2d3c4b")
        return None

    def token(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._caller_refused()) is not None:
            return refused
        params = request.url.params
        if params.get("appid") != self.app_id:
            return answer(40013, "invalid appid")
        if params.get("secret") != self.app_secret:
            return answer(40001, "invalid credential, access_token is invalid or not latest")
        self.issued.append(f"TOKEN{len(self.issued) + 1}")
        return answer(access_token=self.issued[-1], expires_in=7200)

    def custom_send(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._caller_refused()) is not None:
            return refused
        if self.refuse:
            code = self.refuse.pop(0)
            return answer(code, ERRMSG[code])
        if not self.issued or request.url.params.get("access_token") != self.issued[-1]:
            return answer(42001, ERRMSG[42001])
        body = json.loads(request.content)
        openid = body["touser"]
        wrote = self.last_wrote.get(openid)
        if wrote is None or self.clock - wrote > WINDOW_SECONDS:
            return answer(45015, ERRMSG[45015])
        if sum(1 for s in self.sent if s["touser"] == openid and s["at"] >= wrote) >= WINDOW_MESSAGES:
            return answer(45047, ERRMSG[45047])
        self.sent.append({**body, "at": self.clock})
        return answer()

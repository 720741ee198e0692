"""The WeCom corp API as the tests meet it: one stateful server behind the httpx transport (respx), built from the
documented calls and their answers.

- `GET gettoken?corpid&corpsecret` → `access_token`, `expires_in` 7200; a reset secret answers 40001
  (不合法的secret参数). Only the newest token works; an older one answers 42001 (access_token已过期).
- `POST kf/sync_msg` {cursor, token, limit, open_kfid} → `msg_list`, `next_cursor`, `has_more`, per customer-service
  account, from the oldest message of the last 3 days when no cursor is given (document/path/94670).
- `POST kf/send_msg` {touser, open_kfid, msgtype, text} → `msgid`; refused (95xxx, our stand-in code) when the
  customer has not written within 48 hours, or 95001 when 5 messages were already sent since (document/path/94677).
- `GET externalcontact/get_follow_user_list` → `follow_user`; `POST externalcontact/batch/get_by_user`
  {userid_list, cursor, limit} → `external_contact_list`, `next_cursor`.
- Every errcode arrives in an HTTP 200 body (wecom.md d). `throttle` answers the next API calls with 45009
  (接口调用超过限制) or 45033 (接口并发调用超过限制); `expire_token` ends the current token's life (42001 next).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

API = "https://qyapi.weixin.qq.com/cgi-bin"
WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
OUT_OF_WINDOW = 95018  # stand-in: the out-of-window refusal code is not documented in what we read
COUNT_LIMIT = 95001  # 给该客户发送的消息数量已达上限 (see the connector's SEND_ERRORS)


class ServerCrashed(RuntimeError):
    """The connection died while the server answered (stands in for the worker being killed mid-pull)."""


def ok(**body: Any) -> httpx.Response:
    """A successful answer."""
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", **body})


def refused(code: int, message: str) -> httpx.Response:
    """An errcode answer: HTTP 200 with a non-zero `errcode`."""
    return httpx.Response(200, json={"errcode": code, "errmsg": message})


@dataclass
class KfAccount:
    """One 微信客服 account's message log, read in order with opaque cursors."""

    open_kfid: str
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WeComServer:
    """The corp's side of the API, with the state the real one keeps."""

    corp_id: str
    secret: str
    page_size: int = 1000
    accounts: dict[str, KfAccount] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """userid → the external contacts they follow (``external_contact`` + ``follow_info`` records)."""
    issued: list[str] = field(default_factory=list)
    token_expired: bool = False
    secret_reset: bool = False
    throttle: list[int] = field(default_factory=list)
    """errcodes to answer the next API calls with, one each (45009, 45033)."""
    crash_after_pages: int | None = None
    sync_calls: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    contact_calls: list[dict[str, Any]] = field(default_factory=list)
    kf_tokens: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # what happens on the platform

    def customer_writes(self, open_kfid: str, customer: str, text: str, at: int) -> str:
        """A WeChat user writes to a customer-service account; returns the message id."""
        account = self.accounts.setdefault(open_kfid, KfAccount(open_kfid))
        msgid = f"msg{next(self._ids):06d}"
        record = {"msgid": msgid, "open_kfid": open_kfid, "external_userid": customer, "send_time": at,
                  "origin": 3, "msgtype": "text", "text": {"content": text}}  # fmt: skip
        account.log.append(record)
        return msgid

    def servicer_replies(self, open_kfid: str, customer: str, text: str, at: int) -> None:
        """A servicer answers from the WeCom client: sync_msg shows it with ``origin`` 5."""
        record = {"msgid": f"srv{next(self._ids):06d}", "open_kfid": open_kfid, "external_userid": customer,
                  "send_time": at, "origin": 5, "servicer_userid": "zhangsan", "msgtype": "text",
                  "text": {"content": text}}  # fmt: skip
        self.accounts.setdefault(open_kfid, KfAccount(open_kfid)).log.append(record)

    def signal_token(self, open_kfid: str) -> str:
        """The single-use ``Token`` a ``kf_msg_or_event`` callback carries for this account."""
        token = f"ENC{open_kfid[-6:]}{next(self._ids):04d}"
        self.kf_tokens.add(token)
        return token

    def add_external_contact(self, member: str, customer: str, name: str, created: int) -> None:
        """A member adds a customer (客户联系)."""
        record = {
            "external_contact": {"external_userid": customer, "name": name, "type": 1, "avatar": ""},
            "follow_info": {"userid": member, "createtime": created, "add_way": 1, "state": "poster"},
        }
        self.members.setdefault(member, []).append(record)

    # the API

    def mount(self, router: respx.MockRouter) -> None:
        """Answer the corp API's calls."""
        router.get(f"{API}/gettoken").mock(side_effect=self.gettoken)
        router.post(f"{API}/kf/sync_msg").mock(side_effect=self.sync_msg)
        router.post(f"{API}/kf/send_msg").mock(side_effect=self.send_msg)
        router.get(f"{API}/externalcontact/get_follow_user_list").mock(side_effect=self.follow_users)
        router.post(f"{API}/externalcontact/batch/get_by_user").mock(side_effect=self.get_by_user)

    def gettoken(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("corpid") != self.corp_id:
            return refused(40013, "invalid corpid")
        if self.secret_reset or params.get("corpsecret") != self.secret:
            return refused(40001, "invalid secret")
        self.issued.append(f"TOKEN{len(self.issued) + 1}")
        self.token_expired = False
        return ok(access_token=self.issued[-1], expires_in=7200)

    def _refusal(self, request: httpx.Request) -> httpx.Response | None:
        if self.throttle:
            code = self.throttle.pop(0)
            return refused(code, "api freq out of limit" if code == 45009 else "api concurrent out of limit")
        token = request.url.params.get("access_token", "")
        if not self.issued or token != self.issued[-1] or self.token_expired:
            return refused(42001, "access_token expired")
        return None

    def sync_msg(self, request: httpx.Request) -> httpx.Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        asked = json.loads(request.content)
        self.sync_calls.append(asked)
        if asked.get("token") and asked["token"] not in self.kf_tokens:
            return refused(95007, "invalid msg token")
        if self.crash_after_pages is not None:
            if self.crash_after_pages == 0:
                self.crash_after_pages = None
                raise ServerCrashed("the connection died while answering kf/sync_msg")
            self.crash_after_pages -= 1
        log = self.accounts.get(asked.get("open_kfid", ""), KfAccount("")).log
        start = int(asked["cursor"].removeprefix("C")) if asked.get("cursor") else 0
        limit = min(int(asked.get("limit", 1000)), 1000, self.page_size)
        page = log[start : start + limit]
        end = start + len(page)
        return ok(next_cursor=f"C{end:04d}", has_more=int(end < len(log)), msg_list=page)

    def send_msg(self, request: httpx.Request) -> httpx.Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        asked = json.loads(request.content)
        log = self.accounts.get(asked["open_kfid"], KfAccount("")).log
        theirs = [r["send_time"] for r in log if r["origin"] == 3 and r["external_userid"] == asked["touser"]]
        if not theirs:
            return refused(OUT_OF_WINDOW, "the customer has not written to this account")
        since = [s for s in self.sent if s["touser"] == asked["touser"] and s["after"] == max(theirs)]
        if len(since) >= WINDOW_MESSAGES:
            return refused(COUNT_LIMIT, "no more messages allowed until the customer writes again")
        msgid = f"sent{next(self._ids):06d}"
        self.sent.append({**asked, "msgid": msgid, "after": max(theirs)})
        return ok(msgid=msgid)

    def follow_users(self, request: httpx.Request) -> httpx.Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        return ok(follow_user=sorted(self.members))

    def get_by_user(self, request: httpx.Request) -> httpx.Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        asked = json.loads(request.content)
        self.contact_calls.append(asked)
        assert len(asked["userid_list"]) <= 100 and asked.get("limit", 50) <= 100
        relations = [record for member in asked["userid_list"] for record in self.members.get(member, [])]
        start = int(asked["cursor"].removeprefix("R")) if asked.get("cursor") else 0
        end = start + int(asked.get("limit", 50))
        more = end < len(relations)
        return ok(external_contact_list=relations[start:end], next_cursor=f"R{end}" if more else "")

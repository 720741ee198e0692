"""The LINE Messaging API as a local fake at the httpx transport, keeping the state LINE keeps.

Built from the documented API (platforms/line.md, the Messaging API reference and the retry-key guide):
- ``POST /v2/bot/message/reply`` takes a reply token once; a used, unknown or expired one answers 400
  ``{"message": "Invalid reply token"}``. Tokens live one minute from the event that carried them.
- ``POST /v2/bot/message/push`` takes an optional ``X-Line-Retry-Key``; a key already accepted answers 409 with
  ``x-line-accepted-request-id`` and sends nothing (retrying-api-request). Each accepted push counts against the
  monthly quota; replies do not.
- ``GET /v2/bot/profile/{userId}``, ``GET /v2/bot/info``, ``GET /v2/bot/followers/ids?start=&limit=`` (the
  follower list only for verified or premium accounts: others get 403).
- Every call needs ``Authorization: Bearer <the current channel access token>``, else 401.

``throttle`` answers the next calls with 429, ``lose_next_push_answer`` accepts a push and answers 500 (a lost
answer), ``revoke`` makes the current token fail, ``issue_token`` replaces it (re-authorisation).
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

API = "https://api.line.me"
BOT_USER_ID = "U5f4e0a1b2c3d4e5f60718293a4b5c6d7"
REPLY_TOKEN_SECONDS = 60.0


@dataclass
class Sent:
    """One message LINE accepted: how it went (reply or push), to whom, what, with which retry key."""

    via: str
    to: str
    text: str
    retry_key: str = ""
    reply_token: str = ""
    message_id: str = ""


@dataclass
class LineServer:
    """One LINE Official Account's side of the Messaging API."""

    access_token: str
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    followers: list[str] = field(default_factory=list)
    verified: bool = True
    page_size: int = 300
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    throttle: int = 0
    lose_next_push_answer: bool = False
    follower_starts: list[str] = field(default_factory=list)
    _reply_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _retry_keys: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(600_000_000_000_000_001))
    _revoked: set[str] = field(default_factory=set)

    # What happens on LINE's side outside the API.

    def add_user(self, user_id: str, name: str, *, follows: bool = True) -> None:
        """A LINE user with a profile; following the account unless told otherwise."""
        self.profiles[user_id] = {
            "userId": user_id,
            "displayName": name,
            "pictureUrl": f"https://profile.line-scdn.net/{user_id[:8]}",
            "language": "ja",
            "statusMessage": "",
        }
        if follows:
            self.followers.append(user_id)

    def message_event(self, user_id: str, text: str, *, sent_ms: int | None = None) -> dict[str, Any]:
        """A text message event from `user_id`, with a fresh reply token as LINE issues one per event."""
        token = uuid.uuid4().hex
        self._reply_tokens[token] = (user_id, time.time())
        message_id = str(next(self._ids))
        return {
            "type": "message",
            "mode": "active",
            "timestamp": sent_ms if sent_ms is not None else int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": f"01J{uuid.uuid4().hex[:23].upper()}",
            "deliveryContext": {"isRedelivery": False},
            "replyToken": token,
            "message": {"id": message_id, "type": "text", "text": text, "quoteToken": uuid.uuid4().hex[:12]},
        }

    def revoke(self) -> None:
        """The channel access token is revoked (reissued in the console, say): every call now answers 401."""
        self._revoked.add(self.access_token)

    def issue_token(self, token: str) -> None:
        """A new channel access token is issued."""
        self.access_token = token

    @property
    def pushes(self) -> list[Sent]:
        """The pushes LINE accepted (each counts against the monthly quota)."""
        return [sent for sent in self.sent if sent.via == "push"]

    @property
    def replies(self) -> list[Sent]:
        """The replies LINE accepted (free)."""
        return [sent for sent in self.sent if sent.via == "reply"]

    # The API.

    def mount(self, router: respx.MockRouter) -> None:
        """Answer the Messaging API calls this account's channel makes."""
        router.post(f"{API}/v2/bot/message/reply").mock(side_effect=self._guarded(self.reply))
        router.post(f"{API}/v2/bot/message/push").mock(side_effect=self._guarded(self.push))
        router.get(url__regex=rf"^{re.escape(API)}/v2/bot/profile/[^/?]+$").mock(
            side_effect=self._guarded(self.profile)
        )
        router.get(f"{API}/v2/bot/info").mock(side_effect=self._guarded(self.info))
        router.get(url__regex=rf"^{re.escape(API)}/v2/bot/followers/ids").mock(
            side_effect=self._guarded(self.follower_ids)
        )

    def _guarded(self, handler: Any) -> Any:
        def answer(request: httpx.Request) -> httpx.Response:
            bearer = request.headers.get("authorization", "")
            if bearer != f"Bearer {self.access_token}" or self.access_token in self._revoked:
                return self._refuse(request, 401, "Authentication failed. Confirm that the access token is valid.")
            if self.throttle:
                self.throttle -= 1
                return self._refuse(request, 429, "Too Many Requests")
            response: httpx.Response = handler(request)
            return response

        return answer

    def _refuse(self, request: httpx.Request, status: int, message: str) -> httpx.Response:
        self.refused.append((request.url.path, status))
        return httpx.Response(status, json={"message": message})

    def reply(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        token = body["replyToken"]
        found = self._reply_tokens.pop(token, None)  # used once, whatever happens next
        if found is None or time.time() - found[1] > REPLY_TOKEN_SECONDS:
            return self._refuse(request, 400, "Invalid reply token")
        assert 1 <= len(body["messages"]) <= 5
        ids = [self._accept("reply", found[0], message["text"], reply_token=token) for message in body["messages"]]
        return httpx.Response(200, json={"sentMessages": [{"id": i, "quoteToken": "q"} for i in ids]})

    def push(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        key = request.headers.get("x-line-retry-key", "")
        if key:
            uuid.UUID(key)  # "a hexadecimal UUID"; anything else is a 400 on LINE
            if key in self._retry_keys:
                accepted = self._retry_keys[key]
                headers = {"x-line-accepted-request-id": accepted}
                body_409 = {"message": "The retry key is already accepted", "sentMessages": []}
                return httpx.Response(409, json=body_409, headers=headers)
        if body["to"] not in self.profiles:
            return self._refuse(request, 400, "The property, 'to', in the request body is invalid")
        ids = [self._accept("push", body["to"], message["text"], retry_key=key) for message in body["messages"]]
        request_id = uuid.uuid4().hex
        if key:
            self._retry_keys[key] = request_id
        if self.lose_next_push_answer:
            self.lose_next_push_answer = False
            return httpx.Response(500, json={"message": "Internal server error"})
        return httpx.Response(200, json={"sentMessages": [{"id": i, "quoteToken": "q"} for i in ids]})

    def profile(self, request: httpx.Request) -> httpx.Response:
        user_id = request.url.path.rsplit("/", 1)[1]
        if user_id not in self.profiles:
            return self._refuse(request, 404, "Not found")
        return httpx.Response(200, json=self.profiles[user_id])

    def info(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "userId": BOT_USER_ID,
                "basicId": "@216ru...",
                "displayName": "Oat Café",
                "chatMode": "chat",
                "markAsReadMode": "manual",
            },
        )

    def follower_ids(self, request: httpx.Request) -> httpx.Response:
        if not self.verified:
            return self._refuse(request, 403, "Access to this API is not available for your account")
        start = request.url.params.get("start", "")
        limit = min(int(request.url.params.get("limit", 300)), 1000, self.page_size)
        self.follower_starts.append(start)
        offset = int(start.removeprefix("cursor-")) if start else 0
        page = self.followers[offset : offset + limit]
        body: dict[str, Any] = {"userIds": page}
        if offset + limit < len(self.followers):
            body["next"] = f"cursor-{offset + limit}"
        return httpx.Response(200, json=body)

    def _accept(self, via: str, to: str, text: str, *, retry_key: str = "", reply_token: str = "") -> str:
        message_id = str(next(self._ids))
        self.sent.append(Sent(via, to, text, retry_key, reply_token, message_id))
        return message_id

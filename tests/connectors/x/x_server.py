"""X API v2 as a local fake at the httpx transport, keeping the state X keeps for one app and one account.

Built from the documented API (platforms/x.md and the docs it cites):
- ``POST /2/dm_conversations/with/:participant_id/messages`` ``{"text"}`` → 201 ``{"data": {"dm_conversation_id",
  "dm_event_id"}}``, OAuth 1.0a user context only: the ``Authorization: OAuth ...`` header is checked against the
  signature recomputed here from RFC 5849 (consumer key, token, nonce, HMAC-SHA1).
- ``GET /2/users/me`` (user context), ``GET /2/users/:id/mentions`` (``since_id``, ``pagination_token``,
  ``max_results`` 5..100, newest first, ``includes.users`` with ``expansions=author_id``) and
  ``GET /2/users/:id/followers`` (``pagination_token``, ``max_results`` ≤ 1000) with the app's bearer token.
- Rate limits per endpoint window: every answer carries ``x-rate-limit-limit``, ``-remaining`` and ``-reset``
  (Unix seconds); a call with nothing remaining answers 429 until the reset (x.md d). DMs: 15 per 15 minutes.
- A revoked token answers 401 (problem JSON, ``"title": "Unauthorized"``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httpx
import respx

from tests.platform_fakes import X_CREDENTIALS

API = "https://api.x.com"
WINDOW_SECONDS = 15 * 60
DM_LIMIT = 15


def enc(value: str) -> str:
    return quote(value, safe="-._~")


@dataclass
class Window:
    """One endpoint's rate-limit window: calls left and when it resets."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }


@dataclass
class Post:
    """A post that mentions the account."""

    id: int
    author: str
    text: str
    replied_to: str = ""


@dataclass
class XServer:
    """One app (consumer key and secret, bearer token) and one account that authorised it."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str
    bearer_token: str
    account_id: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    mentions: list[Post] = field(default_factory=list)
    followers: list[str] = field(default_factory=list)
    dms: list[tuple[str, str, str]] = field(default_factory=list)
    """(recipient, text, dm_event_id) of every DM sent."""
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    windows: dict[str, Window] = field(default_factory=dict)
    revoked: bool = False
    clock: Callable[[], float] = time.time
    """X's time in Unix seconds (rate-limit resets, post times); a test moves it with its own clock."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_800_000_000_000_000_001))
    _post_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(2_006_700_000_000_000_001))

    # What happens on X outside the API.

    def add_user(self, user_id: str, name: str, username: str) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name,
            "username": username,
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{user_id}/a_normal.jpg",
        }

    def mention(self, author: str, text: str, replied_to: str = "") -> str:
        """Someone posts a mention of the account; returns the post id (ids grow over time)."""
        post = Post(next(self._post_ids), author, text, replied_to)
        self.mentions.append(post)
        return str(post.id)

    def follow(self, user_id: str) -> None:
        self.followers.insert(0, user_id)  # newest first, as X lists followers

    def use_up(self, endpoint: str, reset_in: int = WINDOW_SECONDS) -> None:
        """The endpoint's window is spent (other clients of the same app, say) until `reset_in` seconds from now."""
        self.windows[endpoint] = Window(self.limit_of(endpoint), 0, int(self.clock()) + reset_in)

    def reauthorise(self, access_token: str, access_token_secret: str, bearer_token: str) -> None:
        """The account authorises the app again: new tokens, the old ones stay refused."""
        self.access_token, self.access_token_secret, self.bearer_token = access_token, access_token_secret, bearer_token
        self.revoked = False

    def dm_event(self, sender: str, text: str, event_id: str) -> dict[str, Any]:
        """An Account Activity delivery holding one DM to the account (shape of the documented sample)."""
        user = self.users[sender]
        return {
            "for_user_id": self.account_id,
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": event_id,
                    "created_timestamp": str(int(self.clock() * 1000)),
                    "message_create": {
                        "target": {"recipient_id": self.account_id},
                        "sender_id": sender,
                        "message_data": {"text": text, "entities": {}},
                    },
                }
            ],
            "users": {
                sender: {
                    "id": sender,
                    "name": user["name"],
                    "screen_name": user["username"],
                    "profile_image_url_https": user["profile_image_url"],
                }
            },
        }

    # The API.

    def mount(self, router: respx.MockRouter) -> None:
        router.post(url__regex=rf"^{re.escape(API)}/2/dm_conversations/with/\d+/messages$").mock(
            side_effect=lambda request: self._answer("dm", request, user_context=True, handler=self._send_dm)
        )
        router.get(f"{API}/2/users/me").mock(
            side_effect=lambda request: self._answer("me", request, user_context=True, handler=self._me)
        )
        router.get(url__regex=rf"^{re.escape(API)}/2/users/\d+/mentions").mock(
            side_effect=lambda request: self._answer("mentions", request, user_context=False, handler=self._mentions)
        )
        router.get(url__regex=rf"^{re.escape(API)}/2/users/\d+/followers").mock(
            side_effect=lambda request: self._answer("followers", request, user_context=False, handler=self._followers)
        )

    @staticmethod
    def limit_of(endpoint: str) -> int:
        # x.md d: mentions 450/15 min per app, followers 300/15 min; DMs 15/15 min per user (x.md c)
        return {"dm": DM_LIMIT, "mentions": 450, "followers": 300, "me": 75}[endpoint]

    def _window(self, endpoint: str) -> Window:
        window = self.windows.get(endpoint)
        if window is None or window.reset <= self.clock():
            window = self.windows[endpoint] = Window(
                self.limit_of(endpoint), self.limit_of(endpoint), int(self.clock()) + WINDOW_SECONDS
            )
        return window

    def _answer(self, endpoint: str, request: httpx.Request, *, user_context: bool, handler: Any) -> httpx.Response:
        self.calls.append((endpoint, dict(request.url.params)))
        authorised = self._oauth1_ok(request) if user_context else self._bearer_ok(request)
        if not authorised or self.revoked:
            problem = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            return httpx.Response(401, json=problem)
        window = self._window(endpoint)
        if window.remaining <= 0:
            problem = {"title": "Too Many Requests", "type": "about:blank", "status": 429}
            return httpx.Response(429, json=problem, headers=window.headers())
        window.remaining -= 1
        status, body = handler(request)
        return httpx.Response(status, json=body, headers=window.headers())

    def _bearer_ok(self, request: httpx.Request) -> bool:
        given: str = request.headers.get("authorization", "")
        return given == f"Bearer {self.bearer_token}"

    def _oauth1_ok(self, request: httpx.Request) -> bool:
        """Check the OAuth 1.0a header the way X does: known consumer and token, and the HMAC-SHA1 signature."""
        header = request.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return False
        oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        if oauth.get("oauth_consumer_key") != self.consumer_key or oauth.get("oauth_token") != self.access_token:
            return False
        params = [*request.url.params.multi_items(), *((k, v) for k, v in oauth.items() if k != "oauth_signature")]
        param_string = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params))
        base = f"{request.method}&{enc(f'{request.url.scheme}://{request.url.host}{request.url.path}')}&{enc(param_string)}"
        key = f"{enc(self.consumer_secret)}&{enc(self.access_token_secret)}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
        return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))

    def _send_dm(self, request: httpx.Request) -> tuple[int, dict[str, Any]]:
        recipient = request.url.path.split("/")[4]
        text = json.loads(request.content)["text"]
        event_id = str(next(self._ids))
        self.dms.append((recipient, text, event_id))
        conversation = "-".join(sorted([recipient, self.account_id]))
        return 201, {"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}

    def _me(self, request: httpx.Request) -> tuple[int, dict[str, Any]]:
        me = self.users.get(self.account_id, {"id": self.account_id, "name": "Account", "username": "account"})
        return 200, {"data": {key: me[key] for key in ("id", "name", "username")}}

    def _mentions(self, request: httpx.Request) -> tuple[int, dict[str, Any]]:
        params = request.url.params
        size = int(params.get("max_results", 10))
        assert 5 <= size <= 100
        since = int(params.get("since_id", 0))
        newest_first = sorted((p for p in self.mentions if p.id > since), key=lambda p: p.id, reverse=True)
        return 200, self._page(newest_first, params.get("pagination_token", ""), size, self._post_json)

    def _followers(self, request: httpx.Request) -> tuple[int, dict[str, Any]]:
        params = request.url.params
        size = int(params.get("max_results", 100))
        assert 1 <= size <= 1000
        return 200, self._page(list(self.followers), params.get("pagination_token", ""), size, self.users.__getitem__)

    def _page(self, records: list[Any], token: str, size: int, render: Any) -> dict[str, Any]:
        start = int(base64.b32decode(token).decode()) if token else 0
        chunk = records[start : start + size]
        body: dict[str, Any] = {"data": [render(record) for record in chunk], "meta": {"result_count": len(chunk)}}
        if start + size < len(records):
            body["meta"]["next_token"] = base64.b32encode(str(start + size).encode()).decode()
        if chunk and isinstance(chunk[0], Post):
            authors = {post.author for post in chunk}
            body["includes"] = {"users": [self.users[author] for author in sorted(authors)]}
            body["meta"] |= {"newest_id": str(chunk[0].id), "oldest_id": str(chunk[-1].id)}
        if not chunk:
            del body["data"]  # X leaves `data` out of an empty page
        return body

    def _post_json(self, post: Post) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": str(post.id),
            "text": post.text,
            "author_id": post.author,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.clock())),
            "conversation_id": post.replied_to or str(post.id),
        }
        if post.replied_to:
            found["referenced_tweets"] = [{"type": "replied_to", "id": post.replied_to}]
        return found


def channel_server(clock: Callable[[], float]) -> XServer:
    """X's side for the test channel (``X_CREDENTIALS``): its app, its tokens and its account, on ``clock``."""
    creds = X_CREDENTIALS
    return XServer(
        creds["consumer_key"],
        creds["consumer_secret"],
        creds["access_token"],
        creds["access_token_secret"],
        creds["bearer_token"],
        creds["user_id"],
        clock=clock,
    )

"""The Graph API's side of HTTP, built from the wire contract (meta.md c and d), for the Meta stories.

It answers what the connector calls, the way the documented endpoints do:

- sends: ``POST /me/messages`` (Messenger and Instagram Direct: ``recipient.id`` or, for a private reply,
  ``recipient.comment_id``; ``messaging_type`` ``RESPONSE`` or ``MESSAGE_TAG`` with ``tag``), ``POST
  /{comment-id}/comments`` (Page comment reply), ``POST /{ig-comment-id}/replies`` (Instagram comment reply),
  ``POST /{phone-number-id}/messages`` (WhatsApp text or template);
- reads: ``/{page-id}/posts``, ``/{post-id}/comments``, ``/{page-id}/conversations?platform=``,
  ``/{ig-user-id}/media``, ``/{media-id}/comments``, ``/{waba-id}/message_templates``, cursor-paged
  (``paging.cursors.after`` and ``paging.next``), with ``since`` in epoch seconds where the edge takes it;
- refusals in Graph's error envelope ``{"error": {"message", "type", "code", "error_subcode"}}``: an expired
  token (190/463), throttling (4, 17, 32, 613 with ``X-App-Usage``/``X-Business-Use-Case-Usage``), an
  unavailable person (551), a private reply sent twice for one comment or after 7 days.

Every request is kept (``requests``) and every accepted send too (``sends``), so a story can say that exactly
one well-formed send reached the platform.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import respx

from scrm.connectors.meta.graph import GRAPH_URL

HOST = "graph.facebook.com"
MAX_LIMIT = 25
"""The server's own cap on ``limit``: asking for 100 gets 25 a page, so paging is exercised."""
PRIVATE_REPLY_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Sent:
    """One send the server accepted: the path, the JSON body, the bearer token and the id it answered."""

    path: str
    body: dict[str, Any]
    token: str
    id: str


@dataclass
class Refusal:
    """An error the server gives the next ``times`` matching calls (path prefix, method)."""

    code: int
    subcode: int | None = None
    message: str = "refused"
    status: int = 400
    path: str = ""
    method: str = ""
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class GraphServer:
    """A Page with its Instagram account and a WhatsApp number, its content, and the sends it received."""

    page_id: str
    instagram_id: str
    phone_number_id: str
    waba_id: str
    tokens: set[str]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    posts: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Comments by post or media id, oldest first (as people wrote them)."""
    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"messenger": [], "instagram": []})
    media: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    comment_times: dict[str, datetime] = field(default_factory=dict)
    """When each comment was written, to judge a private reply's 7 days."""
    unavailable: set[str] = field(default_factory=set)
    """People who cannot get messages (551)."""
    refusals: list[Refusal] = field(default_factory=list)
    usage: dict[str, str] = field(default_factory=dict)
    """Usage headers on every answer (``X-App-Usage`` ...)."""
    requests: list[httpx.Request] = field(default_factory=list)
    sends: list[Sent] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def mount(self, router: respx.MockRouter) -> respx.Route:
        """Answer every call to the Graph API host."""
        return router.route(host=HOST).mock(side_effect=self)

    # --- content -------------------------------------------------------------------------------------------

    def add_post(self, number: int, at: datetime, text: str = "") -> str:
        """A Page post; returns its id ``<page>_<n>``."""
        post_id = f"{self.page_id}_{number}"
        self.posts.append(
            {
                "id": post_id,
                "message": text or f"post {number}",
                "created_time": graph_time(at),
                "permalink_url": f"https://www.facebook.com/{self.page_id}/posts/{number}",
                "from": {"id": self.page_id, "name": "Cafe Lumiere"},
            }
        )
        return post_id

    def add_comment(self, post_id: str, number: int, at: datetime, who: tuple[str, str], text: str = "") -> str:
        """A comment on a Page post by ``who`` (page-scoped id, name); returns its id ``<post>_<n>``."""
        comment_id = f"{post_id.split('_')[-1]}_{number}"
        self.comments.setdefault(post_id, []).append(
            {
                "id": comment_id,
                "message": text or f"comment {number}",
                "created_time": graph_time(at),
                "from": {"id": who[0], "name": who[1]},
            }
        )
        self.comment_times[comment_id] = at
        return comment_id

    def add_message(self, platform: str, user: tuple[str, str], number: int, at: datetime, text: str = "") -> str:
        """A message from ``user`` (scoped id, name) in their conversation with the Page on ``platform``."""
        own = self.page_id if platform == "messenger" else self.instagram_id
        threads = self.conversations[platform]
        thread = next((t for t in threads if t["user"] == user[0]), None)
        if thread is None:
            thread = {"id": f"t_{user[0]}", "user": user[0], "messages": []}
            threads.append(thread)
        message_id = f"m_{platform}_{number}"
        author: dict[str, str] = {"id": user[0], "name": user[1]}
        if platform == "instagram":
            author = {"id": user[0], "username": user[1]}
        thread["messages"].append(
            {
                "id": message_id,
                "created_time": graph_time(at),
                "from": author,
                "to": {"data": [{"id": own}]},
                "message": text or f"message {number}",
            }
        )
        return message_id

    def add_media(self, number: int, at: datetime) -> str:
        """An Instagram media object; returns its id."""
        media_id = f"1788749807208{number:04d}"
        self.media.append(
            {
                "id": media_id,
                "caption": f"media {number}",
                "timestamp": graph_time(at),
                "permalink": f"https://www.instagram.com/p/{number}/",
                "media_type": "IMAGE",
                "username": "cafe.lumiere",
            }
        )
        return media_id

    def add_ig_comment(self, media_id: str, number: int, at: datetime, who: tuple[str, str]) -> str:
        """A comment on an Instagram media object by ``who`` (IGSID, username); returns its id."""
        comment_id = f"1786579934808{number:04d}"
        self.comments.setdefault(media_id, []).append(
            {
                "id": comment_id,
                "text": f"ig comment {number}",
                "timestamp": graph_time(at),
                "username": who[1],
                "from": {"id": who[0], "username": who[1]},
            }
        )
        self.comment_times[comment_id] = at
        return comment_id

    def add_template(self, name: str, language: str, body: str, status: str = "APPROVED") -> None:
        """A message template of the WhatsApp Business Account."""
        self.templates.append(
            {
                "name": name,
                "language": language,
                "status": status,
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": body}],
                "id": str(next(self._ids)),
            }
        )

    def refuse(self, code: int, subcode: int | None = None, **how: Any) -> None:
        """Answer the next matching call(s) with Graph error ``code`` (and ``subcode``)."""
        self.refusals.append(Refusal(code, subcode, **how))

    # --- HTTP ----------------------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer one call as the Graph API does."""
        self.requests.append(request)
        path = request.url.path.removeprefix("/" + GRAPH_URL.rsplit("/", 1)[-1])
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        refused = self._refusal(request.method, path, token)
        if refused is not None:
            return refused
        if request.method == "POST":
            return self._post(path, json.loads(request.content or b"{}"), token)
        return self._get(path, request.url.params)

    def _refusal(self, method: str, path: str, token: str) -> httpx.Response | None:
        if token not in self.tokens:
            return error(190, 463, "Error validating access token: Session has expired", status=400)
        for refusal in self.refusals:
            if refusal.times > 0 and path.startswith(refusal.path) and refusal.method in {"", method}:
                refusal.times -= 1
                headers = {**self.usage, **refusal.headers}
                return error(refusal.code, refusal.subcode, refusal.message, refusal.status, headers)
        return None

    def _post(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        if path == "/me/messages":
            return self._send_api(path, body, token)
        if path == f"/{self.phone_number_id}/messages":
            return self._whatsapp(path, body, token)
        target, _, edge = path.strip("/").partition("/")
        if edge in {"comments", "replies"} and isinstance(body.get("message"), str) and body["message"]:
            return self._accept(path, body, token, {"id": f"{target}_r{next(self._ids)}"})
        return error(100, None, f"Unsupported post request: {path}")

    def _send_api(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        """Send API: a text to a PSID/IGSID (``messaging_type``, maybe ``tag``) or a private reply to a comment."""
        recipient, message = body.get("recipient") or {}, body.get("message") or {}
        if not isinstance(message.get("text"), str) or not message["text"]:
            return error(100, None, "(#100) The parameter message is required")
        if "comment_id" in recipient:
            comment_id = str(recipient["comment_id"])
            written = self.comment_times.get(comment_id)
            if written is None:
                return error(100, 33, "Unsupported post request. Object does not exist")
            if any(s.body.get("recipient", {}).get("comment_id") == comment_id for s in self.sends):
                return error(10, 2018292, "(#10) Only one private reply is allowed per comment")
            if self.now - written > PRIVATE_REPLY_WINDOW:
                return error(10, 2018278, "(#10) This message is sent outside of allowed window.")
            return self._accept(
                path,
                body,
                token,
                {"recipient_id": f"psid_of_{comment_id}", "message_id": f"m_private_{next(self._ids)}"},
            )
        user = str(recipient.get("id", ""))
        kind = body.get("messaging_type")
        if not user or kind not in {"RESPONSE", "UPDATE", "MESSAGE_TAG"} or (kind == "MESSAGE_TAG") != ("tag" in body):
            return error(100, None, "(#100) Invalid recipient or messaging_type")
        if user in self.unavailable:
            return error(551, None, "This person isn't available right now.")
        return self._accept(path, body, token, {"recipient_id": user, "message_id": f"m_sent_{next(self._ids)}"})

    def _whatsapp(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        """Cloud API: a text, or a template that must exist, approved, in that language."""
        if body.get("messaging_product") != "whatsapp" or not body.get("to"):
            return error(100, None, "(#100) Invalid parameter")
        if body.get("type") == "template":
            wanted = body.get("template") or {}
            language = (wanted.get("language") or {}).get("code")
            known = [t for t in self.templates if t["name"] == wanted.get("name") and t["language"] == language]
            if not known or known[0]["status"] != "APPROVED":
                return error(132001, None, "(#132001) Template name does not exist in the translation")
        elif body.get("type") != "text" or not (body.get("text") or {}).get("body"):
            return error(100, None, "(#100) Invalid parameter")
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.SENT{next(self._ids)}"}],
        }
        return self._accept(path, body, token, answer)

    def _accept(self, path: str, body: dict[str, Any], token: str, answer: dict[str, Any]) -> httpx.Response:
        sent_id = answer.get("message_id") or answer.get("id") or answer["messages"][0]["id"]
        self.sends.append(Sent(path, body, token, str(sent_id)))
        return httpx.Response(200, json=answer, headers=self.usage)

    def _get(self, path: str, params: httpx.QueryParams) -> httpx.Response:
        target, _, edge = path.strip("/").partition("/")
        records: list[dict[str, Any]]
        if (target, edge) == (self.page_id, "posts"):
            records = newest_first(self.posts, "created_time", params)
        elif (target, edge) == (self.page_id, "conversations"):
            records = self._conversations(params.get("platform", "messenger"))
        elif (target, edge) == (self.instagram_id, "media"):
            records = newest_first(self.media, "timestamp", params)
        elif edge == "comments" and target in self.comments:
            comments = self.comments[target]
            records = list(reversed(comments)) if params.get("order") == "reverse_chronological" else list(comments)
        elif (target, edge) == (self.waba_id, "message_templates"):
            records = self.templates
        elif edge == "comments":
            records = []
        else:
            return error(100, 33, f"Unsupported get request. Object with ID '{target}' does not exist")
        return httpx.Response(200, json=paged(path, records, params), headers=self.usage)

    def _conversations(self, platform: str) -> list[dict[str, Any]]:
        """Conversations most recently updated first, each with its messages newest first (one nested page)."""
        found = []
        for thread in self.conversations.get(platform, []):
            messages = sorted(thread["messages"], key=lambda m: m["created_time"], reverse=True)
            found.append(
                {
                    "id": thread["id"],
                    "updated_time": messages[0]["created_time"],
                    "messages": {"data": messages, "paging": {"cursors": {"before": "b", "after": "a"}}},
                }
            )
        return sorted(found, key=lambda t: t["updated_time"], reverse=True)


def graph_time(at: datetime) -> str:
    """A time as Graph writes it: ``2026-01-01T09:00:00+0000``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def newest_first(records: list[dict[str, Any]], time_field: str, params: httpx.QueryParams) -> list[dict[str, Any]]:
    """An edge's records newest first, from ``since`` (epoch seconds) on when asked."""
    found = sorted(records, key=lambda r: r[time_field], reverse=True)
    since = params.get("since")
    if since is not None:
        start = graph_time(datetime.fromtimestamp(int(since), UTC))
        found = [r for r in found if r[time_field] >= start]
    return found


def paged(path: str, records: list[dict[str, Any]], params: httpx.QueryParams) -> dict[str, Any]:
    """One page from ``after`` (the cursor is the offset, opaque to the client), with ``paging.next`` if more."""
    start = int(params.get("after") or 0)
    limit = min(int(params.get("limit") or MAX_LIMIT), MAX_LIMIT)
    page = records[start : start + limit]
    paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
    if start + limit < len(records):
        following = {k: v for k, v in params.multi_items() if k != "after"} | {"after": str(start + limit)}
        paging["next"] = f"{GRAPH_URL}{path}?{urlencode(following)}"
    return {"data": page, "paging": paging}


def error(
    code: int, subcode: int | None, message: str, status: int = 400, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Graph's error envelope."""
    body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        body["error_subcode"] = subcode
    return httpx.Response(status, json={"error": body}, headers=headers or {})

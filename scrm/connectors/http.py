"""Calling platform APIs, once for every platform: retries, pacing, token refresh and paged streams.

What each answer means comes from ``outcomes`` (one table, with the platform's own overrides).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx

from scrm.connectors.errors import (
    AuthRejected,
    RateLimited,
    RequestIgnored,
    RequestRejected,
    TemporaryFailure,
)
from scrm.connectors.outcomes import Classifier, Outcome, Verdict, classify_status
from scrm.connectors.paginators import PageRequest, Paginator, lookup
from scrm.connectors.ratelimit import Clock, TokenBucket
from scrm.connectors.stores import CursorStore, CursorValue

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying: attempts per call, exponential back-off, and the longest inline wait."""

    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_wait: float = 60.0

    def delay(self, attempt: int, hint: float | None) -> float:
        """Return the wait before retry number ``attempt``: the platform's hint, else doubling back-off."""
        if hint is not None:
            return hint
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


class Auth(Protocol):
    """Adds a channel's access token to calls and replaces a token the platform refused."""

    async def params(self) -> Mapping[str, str]:
        """Return the query parameters that authenticate one call."""
        ...

    async def renew(self, rejected: Mapping[str, str]) -> None:
        """The platform refused the call made with ``rejected``: get a new token (once for all callers)."""
        ...


@dataclass
class ApiClient:
    """One channel's calls to its platform: waits on its token bucket, retries, refreshes tokens once.

    ``idempotent=False`` (sending a message) retries only what the platform surely did not process: a
    rate-limit refusal, a refused token, a failed connection. A 5xx or a lost answer after sending raises
    ``TemporaryFailure`` at once, so the caller decides, and a message is sent twice only if the platform
    acted on a request whose answer we never got.
    """

    http: httpx.AsyncClient
    base_url: str
    clock: Clock
    classify: Classifier = classify_status
    bucket: TokenBucket | None = None
    auth: Auth | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Sent with every call: a bearer token (LINE, X), an idempotency key (LINE ``X-Line-Retry-Key``)."""
    http_auth: httpx.Auth | None = None
    """Signs each request as it leaves, for schemes whose signature covers the request itself (X OAuth 1.0a)."""
    _resume_at: datetime | None = field(default=None, init=False, repr=False)

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` (absolute URLs pass through)."""
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Make one call and return its successful response, or raise a ``ConnectorError``."""
        attempt, reauthed = 0, False
        while True:
            attempt += 1
            await self._wait_for_quota()
            if self.bucket is not None:
                await self.bucket.acquire()
            auth_params = await self.auth.params() if self.auth is not None else {}
            merged = {**(params or {}), **auth_params}
            response = await self._send(method, path, merged, json, idempotent, attempt)
            if response is None:
                continue
            verdict = self.classify(response, self.clock.now())
            if verdict.outcome is Outcome.OK:
                if verdict.pause is not None:
                    self._resume_at = self.clock.now() + timedelta(seconds=verdict.pause)
                return response
            if verdict.outcome is Outcome.REAUTH and self.auth is not None and not reauthed:
                await self.auth.renew(auth_params)
                reauthed = True
                continue
            await self._wait_or_raise(verdict, response.status_code, attempt, idempotent)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int],
        json: Any,
        idempotent: bool,
        attempt: int,
    ) -> httpx.Response | None:
        """Send once; None means a connection failure that is safe to retry after the back-off."""
        try:
            # merged into the URL: httpx's params= would drop a query the platform put in a next-page URL
            url = httpx.URL(self.url(path)).copy_merge_params(dict(params))
            auth = self.http_auth if self.http_auth is not None else httpx.USE_CLIENT_DEFAULT
            return await self.http.request(method, url, json=json, headers=dict(self.headers), auth=auth)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            safe = True  # the request never reached the platform
            error: httpx.TransportError = exc
        except httpx.TransportError as exc:
            safe, error = idempotent, exc
        if not safe or attempt >= self.policy.attempts:
            raise TemporaryFailure(f"{method} {path}: {error!r}") from error
        await self.clock.sleep(self.policy.delay(attempt, None))
        return None

    async def _wait_for_quota(self) -> None:
        """Wait out a quota an earlier answer said was used up; raise ``RateLimited`` if that is too long."""
        if self._resume_at is None:
            return
        wait = (self._resume_at - self.clock.now()).total_seconds()
        if wait > self.policy.max_wait:
            raise RateLimited("the platform's quota is used up until its reset", wait)
        self._resume_at = None
        if wait > 0:
            await self.clock.sleep(wait)

    async def _wait_or_raise(self, verdict: Verdict, status: int, attempt: int, idempotent: bool) -> None:
        message = f"HTTP {status} code={verdict.code}: {verdict.detail}"
        match verdict.outcome:
            case Outcome.IGNORE:
                raise RequestIgnored(message, status=status, code=verdict.code)
            case Outcome.REAUTH:
                raise AuthRejected(message, status=status, code=verdict.code)
            case Outcome.FAIL:
                raise RequestRejected(message, status=status, code=verdict.code)
        wait = self.policy.delay(attempt, verdict.retry_after)
        if verdict.outcome is Outcome.RATE_LIMITED:
            if wait > self.policy.max_wait or attempt >= self.policy.attempts:
                raise RateLimited(message, verdict.retry_after)
        elif not idempotent or attempt >= self.policy.attempts:
            raise TemporaryFailure(message)
        await self.clock.sleep(wait)


@dataclass(frozen=True, slots=True)
class Pulled(Generic[T]):
    """One pulled item and its position in the stream (None for streams without a cursor)."""

    item: T
    cursor: CursorValue | None


def is_at_or_after(cursor: CursorValue, start: CursorValue) -> bool:
    """Compare cursors with ``>=``: numbers as numbers, anything else as text (ISO timestamps sort so)."""
    if isinstance(cursor, int) and isinstance(start, int):
        return cursor >= start
    return str(cursor) >= str(start)


class RestStream(ABC, Generic[T]):
    """A paged list on a platform's REST API, pulled as typed items with their cursors.

    Subclasses declare ``name``, ``path`` (formatted with the channel's credentials), ``records`` (dotted path
    to the list in each page), ``paginator``, and optionally ``cursor_field`` (incremental streams) with
    ``cursor_param`` (the request parameter that takes the start cursor), then implement ``parse``.
    Incremental streams yield every record whose cursor is ``>=`` the start: the boundary item comes again,
    which ingest absorbs. ``ordered`` streams return records in ascending cursor order.
    """

    name: ClassVar[str]
    path: ClassVar[str]
    method: ClassVar[str] = "GET"
    records: ClassVar[str]
    paginator: ClassVar[Paginator]
    params: ClassVar[Mapping[str, str | int]] = {}
    cursor_field: ClassVar[str | None] = None
    cursor_param: ClassVar[str | None] = None
    ordered: ClassVar[bool] = False

    def __init__(self, api: ApiClient, creds: Mapping[str, str]) -> None:
        self.api = api
        self.creds = creds

    @abstractmethod
    def parse(self, raw: Any) -> T | None:
        """Turn one raw record into an item; None for a kind of record this stream does not carry."""

    def page_records(self, body: Any) -> list[Any]:
        """Return one page's records; override to join in what the page carries beside them (X ``includes``)."""
        return list(lookup(body, self.records) or [])

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Complete one page of records with further calls (profiles by id, say); the default keeps them."""
        return records

    def cursor_of(self, raw: Any) -> CursorValue | None:
        """Return the record's cursor value, when the stream is incremental."""
        value = lookup(raw, self.cursor_field) if self.cursor_field else None
        return value if isinstance(value, str | int) else None

    def first_page(self, start: CursorValue | None) -> PageRequest:
        """Return the request for the first page, resuming from ``start`` when the API takes it."""
        params = dict(self.params)
        if start is not None and self.cursor_param:
            params[self.cursor_param] = start
        return PageRequest(params=params)

    async def iter_pulled(self, start: CursorValue | None = None) -> AsyncIterator[Pulled[T]]:
        """Yield the stream's items from ``start`` on, page by page, stopping when a page request repeats."""
        request: PageRequest | None = self.first_page(start)
        seen: set[object] = set()
        while request is not None and request.token not in seen:
            seen.add(request.token)
            try:
                response = await self._fetch(request)
            except RequestIgnored:
                return
            body = response.json()
            raw_records = self.page_records(body)
            for raw in await self.enrich(list(raw_records)):
                cursor = self.cursor_of(raw)
                item = self.parse(raw)
                if item is not None and (start is None or cursor is None or is_at_or_after(cursor, start)):
                    yield Pulled(item, cursor)
            request = self.paginator.next_page(request, body, response, raw_records)

    async def _fetch(self, request: PageRequest) -> httpx.Response:
        path = request.url or self.path.format_map(self.creds)
        if self.method == "GET":
            return await self.api.call("GET", path, params=request.params)
        return await self.api.call(self.method, path, json=dict(request.params))


async def iter_new_items(stream: RestStream[T], cursors: CursorStore, channel_id: str) -> AsyncIterator[T]:
    """Yield the items a channel's stream has since its saved cursor, and move the cursor on.

    The cursor is saved only after the consumer has handled an item (the generator resumed): after each item
    for ``ordered`` streams, at the end for the others, where a crash part-way must not skip older pages.
    """
    start = await cursors.find_cursor(channel_id, stream.name)
    highest = start
    async for pulled in stream.iter_pulled(start):
        yield pulled.item
        cursor = pulled.cursor
        if cursor is None or (highest is not None and not is_at_or_after(cursor, highest)):
            continue
        highest = cursor
        if stream.ordered and cursor != start:
            await cursors.save_cursor(channel_id, stream.name, cursor)
    if highest is not None and highest != start and not stream.ordered:
        await cursors.save_cursor(channel_id, stream.name, highest)

"""How to ask a platform for the next page: the paging schemes of the platforms we support.

Each paginator is a stateless value: it derives the next request from the current one and the page it
returned, and returns None when there is no next page. The loop guard (a repeated request stops paging)
lives in ``http.RestStream``, once for all paginators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

ParamValue = str | int


def lookup(data: Any, path: str) -> Any:
    """Return the value at a dotted ``path`` in nested mappings, or None where a step is missing.

    An empty path returns ``data`` itself.
    """
    for step in path.split(".") if path else ():
        if not isinstance(data, Mapping):
            return None
        data = data.get(step)
    return data


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page to ask for: query parameters, or an absolute URL the platform handed us."""

    params: Mapping[str, ParamValue] = field(default_factory=dict)
    url: str | None = None

    @property
    def token(self) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """A hashable identity of the request, for the loop guard."""
        return self.url, tuple(sorted((k, str(v)) for k, v in self.params.items()))

    def with_params(self, **changes: ParamValue) -> PageRequest:
        """Return this request with some parameters replaced."""
        return PageRequest(params={**self.params, **changes}, url=self.url)


class Paginator(Protocol):
    """Derives the request for the next page from the current request and its result."""

    def next_page(
        self, current: PageRequest, body: Any, response: httpx.Response, records: Sequence[Any]
    ) -> PageRequest | None:
        """Return the next page's request, or None when the last page was reached."""
        ...


@dataclass(frozen=True, slots=True)
class BodyCursor:
    """An opaque cursor in the response body, sent back as a parameter.

    Meta ``paging.cursors.after`` → ``after``; X ``meta.next_token`` → ``pagination_token``; WeChat
    ``next_openid`` → ``next_openid`` (wechat.md d: "empty next_openid = done"). An empty page also ends.
    """

    path: str
    param: str

    def next_page(
        self, current: PageRequest, body: Any, response: httpx.Response, records: Sequence[Any]
    ) -> PageRequest | None:
        """Follow the cursor while it is present and the page had records."""
        cursor = lookup(body, self.path)
        if not cursor or not records:
            return None
        return current.with_params(**{self.param: str(cursor)})


@dataclass(frozen=True, slots=True)
class PageNumber:
    """Numbered pages: ``page=1, 2, ...`` until a page comes back short or empty."""

    param: str = "page"
    size: int = 100
    start: int = 1

    def next_page(
        self, current: PageRequest, body: Any, response: httpx.Response, records: Sequence[Any]
    ) -> PageRequest | None:
        """Ask for the following page number unless this page was the last."""
        if len(records) < self.size:
            return None
        return current.with_params(**{self.param: int(current.params.get(self.param, self.start)) + 1})


@dataclass(frozen=True, slots=True)
class Offset:
    """Offset/limit paging: skip the records already seen until a page comes back short."""

    param: str = "offset"
    limit: int = 100

    def next_page(
        self, current: PageRequest, body: Any, response: httpx.Response, records: Sequence[Any]
    ) -> PageRequest | None:
        """Advance the offset by the number of records received."""
        if len(records) < self.limit:
            return None
        return current.with_params(**{self.param: int(current.params.get(self.param, 0)) + len(records)})


@dataclass(frozen=True, slots=True)
class NextUrl:
    """The next page's full URL: from the ``Link: <...>; rel="next"`` header, or from the body at ``path``."""

    path: str | None = None

    def next_page(
        self, current: PageRequest, body: Any, response: httpx.Response, records: Sequence[Any]
    ) -> PageRequest | None:
        """Follow the next link while there is one."""
        url = lookup(body, self.path) if self.path else response.links.get("next", {}).get("url")
        if not url or not records:
            return None
        return PageRequest(url=str(url))


@dataclass(frozen=True, slots=True)
class UpdateOffset:
    """An update queue confirmed by offset: ask for ids above the highest one received.

    Telegram ``getUpdates``: "offset — Identifier of the first update to be returned. Must be greater by one
    than the highest among the identifiers of previously received updates" (telegram.md d). An empty batch
    means the queue is drained.
    """

    id_field: str = "update_id"
    param: str = "offset"

    def next_page(
        self, current: PageRequest, body: Any, response: httpx.Response, records: Sequence[Any]
    ) -> PageRequest | None:
        """Ask for the updates after the highest id of this batch."""
        ids = [int(r[self.id_field]) for r in records if isinstance(r, Mapping) and self.id_field in r]
        if not ids:
            return None
        return current.with_params(**{self.param: max(ids) + 1})

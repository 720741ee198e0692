"""The shared HTTP machinery, once for all platforms: paging, loop guard, retries, pacing, cursors, tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import httpx
import pytest
import respx

from scrm.connectors.errors import RateLimited, RequestRejected, TemporaryFailure
from scrm.connectors.http import ApiClient, RestStream, iter_new_items
from scrm.connectors.outcomes import STATUS_OUTCOMES, Outcome, outcome_for_status, parse_retry_after
from scrm.connectors.paginators import BodyCursor, NextUrl, Offset, PageNumber, Paginator, UpdateOffset
from scrm.connectors.ratelimit import ChannelBuckets, RateLimit, TokenBucket

from .memory import FakeClock, InMemoryCursorStore

BASE = "https://api.example.test"
URL = f"{BASE}/things"


class Things(RestStream[str]):
    """A stream of ids, paged by a body cursor, incremental on ``updated``."""

    name = "things"
    path = "/things"
    records = "data"
    paginator: ClassVar[Paginator] = BodyCursor(path="paging.next", param="after")
    cursor_field = "updated"
    cursor_param = "since"

    def parse(self, raw: Any) -> str | None:
        return None if raw.get("skip") else str(raw["id"])


class NumberedThings(Things):
    paginator = PageNumber(param="page", size=2)


class OffsetThings(Things):
    paginator = Offset(param="offset", limit=2)


class LinkedThings(Things):
    paginator = NextUrl()


class BodyLinkedThings(Things):
    paginator = NextUrl(path="links.next")


class QueuedThings(Things):
    records = "result"
    paginator = UpdateOffset(id_field="updated", param="offset")
    ordered = True


def page(*records: dict[str, Any], after: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"data": list(records), "paging": {"next": after} if after else {}})


def thing(n: int) -> dict[str, Any]:
    return {"id": n, "updated": f"2026-01-0{n}T00:00:00Z"}


def stream_of(
    kind: type[Things], http: httpx.AsyncClient, clock: FakeClock, bucket: TokenBucket | None = None
) -> Things:
    return kind(ApiClient(http, BASE, clock, bucket=bucket), {})


async def ids(stream: Things, start: str | int | None = None) -> list[str]:
    return [pulled.item async for pulled in stream.iter_pulled(start)]


@respx.mock
async def test_body_cursor_paging_follows_until_no_cursor(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(side_effect=[page(thing(1), after="c1"), page(thing(2), after="c2"), page(thing(3))])
    assert await ids(stream_of(Things, http, clock)) == ["1", "2", "3"]
    assert [call.request.url.params.get("after") for call in route.calls] == [None, "c1", "c2"]


@respx.mock
async def test_repeated_cursor_stops_paging(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(side_effect=[page(thing(1), after="same")] * 4 + [page(thing(2))])
    assert await ids(stream_of(Things, http, clock)) == ["1", "1"]
    assert route.call_count == 2


@respx.mock
async def test_page_number_paging_stops_on_a_short_page(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(side_effect=[page(thing(1), thing(2)), page(thing(3))])
    assert await ids(stream_of(NumberedThings, http, clock)) == ["1", "2", "3"]
    assert [call.request.url.params.get("page") for call in route.calls] == [None, "2"]


@respx.mock
async def test_offset_paging_advances_by_records_received(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(side_effect=[page(thing(1), thing(2)), page(thing(3), thing(4)), page()])
    assert await ids(stream_of(OffsetThings, http, clock)) == ["1", "2", "3", "4"]
    assert [call.request.url.params.get("offset") for call in route.calls] == [None, "2", "4"]


@respx.mock
async def test_link_header_paging_follows_rel_next(http: httpx.AsyncClient, clock: FakeClock) -> None:
    first = httpx.Response(200, json={"data": [thing(1)]}, headers={"Link": f'<{BASE}/things/p2>; rel="next"'})
    respx.get(URL).mock(return_value=first)
    respx.get(f"{BASE}/things/p2").mock(return_value=page(thing(2)))
    assert await ids(stream_of(LinkedThings, http, clock)) == ["1", "2"]


@respx.mock
async def test_next_url_in_the_body_is_followed(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL, params={"p": "2"}).mock(return_value=page(thing(2)))
    respx.get(URL).mock(return_value=httpx.Response(200, json={"data": [thing(1)], "links": {"next": f"{URL}?p=2"}}))
    assert await ids(stream_of(BodyLinkedThings, http, clock)) == ["1", "2"]


@respx.mock
async def test_update_offset_asks_above_the_highest_id(http: httpx.AsyncClient, clock: FakeClock) -> None:
    batches = [{"result": [{"id": 1, "updated": 7}, {"id": 2, "updated": 8}]}, {"result": []}]
    route = respx.get(URL).mock(side_effect=[httpx.Response(200, json=b) for b in batches])
    assert await ids(stream_of(QueuedThings, http, clock), start=7) == ["1", "2"]
    assert [call.request.url.params.get("offset") for call in route.calls] == [None, "9"]
    assert route.calls[0].request.url.params["since"] == "7"


@respx.mock
async def test_incremental_stream_yields_from_the_boundary_on(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(return_value=page(thing(1), thing(2), thing(3)))
    assert await ids(stream_of(Things, http, clock), start="2026-01-02T00:00:00Z") == ["2", "3"]
    assert route.calls[0].request.url.params["since"] == "2026-01-02T00:00:00Z"


@respx.mock
async def test_records_the_stream_does_not_carry_are_skipped(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(return_value=page(thing(1), {"id": 2, "skip": True}))
    assert await ids(stream_of(Things, http, clock)) == ["1"]


@respx.mock
async def test_429_waits_for_retry_after_then_succeeds(http: httpx.AsyncClient, clock: FakeClock) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "7"})
    respx.get(URL).mock(side_effect=[limited, page(thing(1))])
    assert await ids(stream_of(Things, http, clock)) == ["1"]
    assert clock.sleeps == [7.0]


@respx.mock
async def test_429_longer_than_we_wait_raises_rate_limited(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as caught:
        await ids(stream_of(Things, http, clock))
    assert caught.value.retry_after == 3600
    assert clock.sleeps == []


@respx.mock
async def test_5xx_is_retried_with_backoff_then_succeeds(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(side_effect=[httpx.Response(502), httpx.Response(503), page(thing(1))])
    assert await ids(stream_of(Things, http, clock)) == ["1"]
    assert route.call_count == 3
    assert clock.sleeps == [1.0, 2.0]


@respx.mock
async def test_5xx_with_retry_after_waits_as_told(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(side_effect=[httpx.Response(503, headers={"Retry-After": "5"}), page(thing(1))])
    assert await ids(stream_of(Things, http, clock)) == ["1"]
    assert clock.sleeps == [5.0]


@respx.mock
async def test_5xx_that_persists_raises_temporary_failure(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(500))
    with pytest.raises(TemporaryFailure):
        await ids(stream_of(Things, http, clock))
    assert route.call_count == 4


@respx.mock
async def test_connection_failure_is_retried(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(side_effect=[httpx.ConnectError("refused"), page(thing(1))])
    assert await ids(stream_of(Things, http, clock)) == ["1"]


@respx.mock
async def test_4xx_fails_at_once(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(400, json={"error": "bad field"}))
    with pytest.raises(RequestRejected) as caught:
        await ids(stream_of(Things, http, clock))
    assert caught.value.status == 400
    assert route.call_count == 1


@respx.mock
async def test_ignored_status_ends_the_stream_quietly(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(side_effect=[page(thing(1), after="c1"), httpx.Response(404)])
    assert await ids(stream_of(Things, http, clock)) == ["1"]


@respx.mock
async def test_a_send_is_not_repeated_after_a_5xx(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(500))
    with pytest.raises(TemporaryFailure):
        await ApiClient(http, BASE, clock).call("POST", "/things", json={}, idempotent=False)
    assert route.call_count == 1


@respx.mock
async def test_a_send_is_repeated_after_a_429(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200)])
    await ApiClient(http, BASE, clock).call("POST", "/things", json={}, idempotent=False)
    assert route.call_count == 2
    assert clock.sleeps == [2.0]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.OK),
        (204, Outcome.OK),
        (400, Outcome.FAIL),
        (401, Outcome.FAIL),
        (404, Outcome.IGNORE),
        (410, Outcome.IGNORE),
        (429, Outcome.RATE_LIMITED),
        (500, Outcome.RETRY),
        (599, Outcome.RETRY),
    ],
)
def test_status_table(status: int, outcome: Outcome) -> None:
    assert outcome_for_status(status) is outcome


def test_platform_overrides_win_over_the_table() -> None:
    assert STATUS_OUTCOMES[404] is Outcome.IGNORE
    assert outcome_for_status(404, {404: Outcome.FAIL}) is Outcome.FAIL


def test_retry_after_reads_seconds_and_http_dates(clock: FakeClock) -> None:
    assert parse_retry_after("12", clock.now()) == 12
    assert parse_retry_after("Thu, 01 Jan 2026 09:00:30 GMT", clock.now()) == 30
    assert parse_retry_after("soon", clock.now()) is None


@respx.mock
async def test_stream_waits_on_the_channel_bucket(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(side_effect=[page(thing(1), after="a"), page(thing(2), after="b"), page(thing(3))])
    bucket = ChannelBuckets(clock).for_channel("chan-1", RateLimit(calls=1, per=timedelta(seconds=2)))
    assert await ids(stream_of(Things, http, clock, bucket)) == ["1", "2", "3"]
    assert clock.sleeps == [2.0, 2.0]


@respx.mock
async def test_unordered_stream_saves_the_highest_cursor_at_the_end(http: httpx.AsyncClient, clock: FakeClock) -> None:
    respx.get(URL).mock(return_value=page(thing(3), thing(1), thing(2)))
    cursors = InMemoryCursorStore()
    seen = [item async for item in iter_new_items(stream_of(Things, http, clock), cursors, "chan-1")]
    assert seen == ["3", "1", "2"]
    assert cursors.saves == ["2026-01-03T00:00:00Z"]


@respx.mock
async def test_next_pull_resumes_from_the_saved_cursor(http: httpx.AsyncClient, clock: FakeClock) -> None:
    route = respx.get(URL).mock(return_value=page(thing(3)))
    cursors = InMemoryCursorStore()
    await cursors.save_cursor("chan-1", "things", "2026-01-03T00:00:00Z")
    seen = [item async for item in iter_new_items(stream_of(Things, http, clock), cursors, "chan-1")]
    assert seen == ["3"]  # the boundary item again: ingest is idempotent
    assert route.calls[0].request.url.params["since"] == "2026-01-03T00:00:00Z"
    assert cursors.saves == ["2026-01-03T00:00:00Z"]


@respx.mock
async def test_ordered_stream_saves_after_each_handled_item(http: httpx.AsyncClient, clock: FakeClock) -> None:
    body = {"result": [{"id": 1, "updated": 7}, {"id": 2, "updated": 8}]}
    respx.get(URL).mock(side_effect=[httpx.Response(200, json=body), httpx.Response(200, json={"result": []})])
    cursors = InMemoryCursorStore()
    items = iter_new_items(stream_of(QueuedThings, http, clock), cursors, "chan-1")
    assert await anext(items) == "1"
    assert cursors.saves == []  # not saved before the consumer is done with the item
    assert await anext(items) == "2"
    assert cursors.saves == [7]
    assert [item async for item in items] == []
    assert cursors.saves == [7, 8]

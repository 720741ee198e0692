"""Graph answers mean the right thing: error codes, usage headers, and what they say about the channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.errors import AuthRejected, PermissionDenied, RateLimited, RequestRejected
from scrm.connectors.meta import Meta
from scrm.connectors.meta.graph import GRAPH_URL, classify_graph, read_usage
from scrm.connectors.meta.health import TokenProblem, problem_of, token_problem
from scrm.connectors.outcomes import Outcome

from ..memory import START, FakeClock, InMemoryTokenStore


def answer(status: int, body: Any, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", f"{GRAPH_URL}/682498171943165/posts")
    return httpx.Response(status, json=body, headers=headers, request=request)


def error(code: int, subcode: int | None = None, status: int = 400) -> httpx.Response:
    body: dict[str, Any] = {"message": f"(#{code}) something", "type": "OAuthException", "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    return answer(status, {"error": body, "fbtrace_id": "EJplcsCHuLu"})


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (1, Outcome.RETRY),
        (2, Outcome.RETRY),
        (4, Outcome.RATE_LIMITED),
        (17, Outcome.RATE_LIMITED),
        (32, Outcome.RATE_LIMITED),
        (613, Outcome.RATE_LIMITED),
        (80001, Outcome.RATE_LIMITED),
        (80014, Outcome.RATE_LIMITED),
        (130429, Outcome.RATE_LIMITED),
        (190, Outcome.REAUTH),
        (102, Outcome.REAUTH),
        (10, Outcome.FAIL),
        (200, Outcome.FAIL),
        (299, Outcome.FAIL),
        (100, Outcome.FAIL),
        (551, Outcome.FAIL),
    ],
)
def test_error_codes_map_through_the_outcome_table(code: int, outcome: Outcome) -> None:
    verdict = classify_graph(error(code), START)
    assert verdict.outcome is outcome
    assert verdict.code == str(code)


def test_code_and_subcode_travel_together() -> None:
    assert classify_graph(error(190, 463), START).code == "190/463"


def test_an_unknown_code_keeps_the_status_tables_verdict() -> None:
    assert classify_graph(error(99999, status=503), START).outcome is Outcome.RETRY
    assert classify_graph(error(99999, status=400), START).outcome is Outcome.FAIL


def test_throttling_without_an_estimate_waits_longer_than_inline() -> None:
    assert classify_graph(error(4), START).retry_after == 300.0
    assert classify_graph(error(130429), START).retry_after is None  # per-number limit: back off from 1 s


def test_business_use_case_estimate_is_the_wait() -> None:
    buc = {"682498171943165": [{"type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 30,
                                "estimated_time_to_regain_access": 7}]}  # fmt: skip
    response = answer(400, error(80001).json(), **{"X-Business-Use-Case-Usage": json.dumps(buc)})
    assert classify_graph(response, START).retry_after == 420.0


def test_usage_near_the_limit_pauses_after_a_successful_call() -> None:
    usage = json.dumps({"call_count": 96, "total_cputime": 10, "total_time": 12})
    verdict = classify_graph(answer(200, {"data": []}, **{"X-App-Usage": usage}), START)
    assert verdict.outcome is Outcome.OK
    assert verdict.pause == 60.0


def test_usage_with_room_left_does_not_pause() -> None:
    usage = json.dumps({"call_count": 40, "total_cputime": 10, "total_time": 12})
    assert classify_graph(answer(200, {"data": []}, **{"X-App-Usage": usage}), START).pause is None


def test_usage_headers_are_read_to_their_highest_share() -> None:
    headers = httpx.Headers(
        {
            "x-app-usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 5}),
            "x-ad-account-usage": json.dumps({"acc_id_util_pct": 97.5, "reset_time_duration": 0}),
            "x-page-usage": "not json",
        }
    )
    usage = read_usage(headers)
    assert (usage.percent, usage.regain_seconds) == (97.5, None)


@pytest.mark.parametrize(
    ("code", "subcode", "problem"),
    [
        (190, 463, TokenProblem.EXPIRED),
        (190, 460, TokenProblem.REVOKED),
        (190, 458, TokenProblem.REVOKED),
        (190, 467, TokenProblem.INVALID),
        (190, None, TokenProblem.INVALID),
        (102, None, TokenProblem.INVALID),
        (10, None, TokenProblem.PERMISSION_MISSING),
        (230, None, TokenProblem.PERMISSION_MISSING),
    ],
)
def test_token_errors_say_what_is_wrong(code: int, subcode: int | None, problem: TokenProblem) -> None:
    found = token_problem(code, subcode)
    assert found is not None and found.problem is problem and found.reason


@pytest.mark.parametrize(("code", "subcode"), [(4, None), (100, None), (10, 2018278), (None, None)])
def test_other_errors_say_nothing_about_the_token(code: int | None, subcode: int | None) -> None:
    assert token_problem(code, subcode) is None


def test_diagnose_names_an_expired_token_and_ignores_throttling() -> None:
    meta = Meta(InMemoryTokenStore())
    expired = meta.diagnose(AuthRejected("HTTP 400", status=400, code="190/463"))
    assert expired is not None and "expired" in expired
    missing = meta.diagnose(PermissionDenied("HTTP 403", status=403, code="200"))
    assert missing is not None and "permission" in missing
    assert meta.diagnose(RateLimited("HTTP 400", 300.0)) is None
    assert meta.diagnose(RequestRejected("HTTP 400", status=400, code="100")) is None
    assert problem_of(RateLimited("x", None)) is None


@respx.mock
async def test_debug_token_reports_an_expired_page_token(http: httpx.AsyncClient, clock: FakeClock) -> None:
    data = {
        "app_id": "1517776481860111",
        "is_valid": False,
        "expires_at": 1767225600,
        "scopes": ["pages_messaging", "pages_manage_metadata"],
        "error": {"code": 190, "subcode": 463, "message": "Session has expired"},
    }
    route = respx.get(f"{GRAPH_URL}/debug_token").mock(return_value=httpx.Response(200, json={"data": data}))
    creds = {"app_id": "1517776481860111", "app_secret": "s3cret", "page_access_token": "PAGE_TOKEN"}
    info = await Meta(InMemoryTokenStore(), clock).inspect_token(http, creds)
    assert not info.is_valid
    assert info.expires_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert info.scopes == ("pages_messaging", "pages_manage_metadata")
    assert info.problem is not None and info.problem.problem is TokenProblem.EXPIRED
    request = route.calls[0].request
    assert request.url.params["input_token"] == "PAGE_TOKEN"
    assert request.headers["authorization"] == "Bearer 1517776481860111|s3cret"


async def test_inspecting_a_token_needs_the_app_id(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="app_id"):
        await Meta(InMemoryTokenStore()).inspect_token(http, {"app_secret": "s", "page_access_token": "t"})

"""Calling the Graph API: its version, its error envelope and codes, and its usage headers.

What each answer means goes through the shared status table (``outcomes.classify_status``) first, then
Meta's own signals refine it: the ``error.code`` / ``error_subcode`` in the body, and the usage headers that
say how close the app or Page is to its limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from scrm.connectors.errors import (
    MessagingWindowClosed,
    PermissionDenied,
    RecipientUnavailable,
    RequestRejected,
)
from scrm.connectors.http import ApiClient
from scrm.connectors.outcomes import Outcome, Verdict, classify_status

# One version for every call; the docs' own examples use v25.0 (graph-api reference, private_replies page).
GRAPH_VERSION = "v25.0"
GRAPH_URL = f"https://graph.facebook.com/{GRAPH_VERSION}"

# Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling [doc-excerpt]:
# 1 API Unknown and 2 API Service are temporary; 4 and 17 (too many calls), 341 (application limit) are
# throttling; 190 (token expired) and 102 (API session) need a new token; 3, 10 and 200-299 are missing
# permissions; 368 is a temporary policy block. 32 (Page calls) and 613 (custom limit) are throttling and
# 80001-80014 the Business Use Case limits [unverified: not in the retrieved excerpts]. WhatsApp 130429 is the
# per-number throughput limit (developers.facebook.com/documentation/business-messaging/whatsapp/throughput);
# 131056 the pair rate limit [unverified: third-party]. 100 is an invalid parameter; 551 "this person isn't
# available right now" [unverified].
ERROR_OUTCOMES: Mapping[int, Outcome] = {
    1: Outcome.RETRY,
    2: Outcome.RETRY,
    3: Outcome.FAIL,
    4: Outcome.RATE_LIMITED,
    10: Outcome.FAIL,
    17: Outcome.RATE_LIMITED,
    32: Outcome.RATE_LIMITED,
    100: Outcome.FAIL,
    102: Outcome.REAUTH,
    190: Outcome.REAUTH,
    341: Outcome.RATE_LIMITED,
    368: Outcome.FAIL,
    551: Outcome.FAIL,
    613: Outcome.RATE_LIMITED,
    130429: Outcome.RATE_LIMITED,
    131056: Outcome.RATE_LIMITED,
    **dict.fromkeys(range(80001, 80015), Outcome.RATE_LIMITED),
    **dict.fromkeys(range(200, 300), Outcome.FAIL),
}
# 100/33: the object does not exist or cannot be seen (a deleted post or comment) [unverified]: a stream ends
# there quietly and a reply to it is dropped.
SUBCODE_OUTCOMES: Mapping[tuple[int, int], Outcome] = {(100, 33): Outcome.IGNORE}
# Throttling with no estimate of when access returns: wait this long (our choice; the platform limit is a
# rolling hour, rate-limiting page), which is above the inline limit, so the caller retries later.
THROTTLE_WAIT = 300.0
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-ad-account-usage", "x-business-use-case-usage")
NEAR_LIMIT_PERCENT = 95.0  # our choice: calls fail at 100 (rate-limiting page), so slow down just before
NEAR_LIMIT_PAUSE = 60.0  # our choice, when Meta gives no estimated_time_to_regain_access


@dataclass(frozen=True, slots=True)
class GraphError:
    """The ``error`` object of a Graph API answer."""

    code: int
    subcode: int | None = None
    message: str = ""
    type: str = ""

    @property
    def key(self) -> str:
        """The error as one string, ``"190"`` or ``"190/463"``: the ``code`` of the raised ``ConnectorError``."""
        return f"{self.code}/{self.subcode}" if self.subcode is not None else str(self.code)


@dataclass(frozen=True, slots=True)
class Usage:
    """The highest share of any limit in use, in percent, and Meta's estimate of when throttling ends."""

    percent: float = 0.0
    regain_seconds: float | None = None


def parse_error_key(key: int | str | None) -> tuple[int | None, int | None]:
    """Split a ``GraphError.key`` (as found on a raised error) back into code and subcode."""
    code, _, subcode = str(key or "").partition("/")
    if not code.isdigit():
        return None, None
    return int(code), int(subcode) if subcode.isdigit() else None


def graph_error(response: httpx.Response) -> GraphError | None:
    """Read the ``{"error": {"code", "error_subcode", "message", "type"}}`` envelope, if the body has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or "code" not in error:
        return None
    subcode = error.get("error_subcode")
    message, kind = str(error.get("message", "")), str(error.get("type", ""))
    return GraphError(int(error["code"]), int(subcode) if subcode is not None else None, message, kind)


def read_usage(headers: httpx.Headers) -> Usage:
    """Read the usage headers: ``X-App-Usage``/``X-Page-Usage`` (``call_count``, ``total_cputime``,
    ``total_time``), ``X-Ad-Account-Usage`` (``acc_id_util_pct``) and ``X-Business-Use-Case-Usage`` (per
    business id, a list with the same percentages and ``estimated_time_to_regain_access`` in minutes).

    The rate-limiting page says usage "headers ... are included with most API responses"; the header names and
    fields are [unverified] (meta.md d). Unreadable headers count as no usage.
    """
    percents: list[float] = []
    regain: list[float] = []
    for name in USAGE_HEADERS:
        try:
            value = json.loads(headers.get(name, "") or "null")
        except ValueError:
            continue
        for usage in _usage_objects(value):
            percents.extend(float(v) for k, v in usage.items() if _is_percent(k, v))
            minutes = usage.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and minutes > 0:
                regain.append(float(minutes) * 60)
    return Usage(max(percents, default=0.0), max(regain, default=None))


def classify_graph(response: httpx.Response, now: datetime) -> Verdict:
    """Judge a Graph answer: the status table, then the body's error code, then the usage headers."""
    verdict = classify_status(response, now)
    usage = read_usage(response.headers)
    error = graph_error(response)
    if error is None:
        if verdict.outcome is Outcome.OK and usage.percent >= NEAR_LIMIT_PERCENT:
            return replace(verdict, pause=usage.regain_seconds or NEAR_LIMIT_PAUSE)
        return verdict
    outcome = SUBCODE_OUTCOMES.get((error.code, error.subcode or 0)) or ERROR_OUTCOMES.get(error.code)
    if outcome is None:
        outcome = Outcome.FAIL if verdict.outcome is Outcome.OK else verdict.outcome
    wait = verdict.retry_after or usage.regain_seconds
    if outcome is Outcome.RATE_LIMITED and wait is None and error.code not in {130429, 131056}:
        wait = THROTTLE_WAIT  # the per-number limits pass within seconds: back off from 1 s instead
    return Verdict(outcome, wait, error.key, error.message)


def named_error(key: int | str | None) -> type[RequestRejected] | None:
    """Return the specific error a refusal deserves, by Graph code (and subcode), or None.

    10/2018278 "message sent outside of allowed window" and WhatsApp 131047 (more than 24 hours since the
    person last wrote) close the window [unverified: codes from the project's issue, not a retrieved page];
    3, 10 and 200-299 are missing permissions (Handling Errors page); 551 the person is unavailable.
    """
    code, subcode = parse_error_key(key)
    if (code, subcode) == (10, 2018278) or code == 131047:
        return MessagingWindowClosed
    if code in {3, 10} or (code is not None and 200 <= code <= 299):
        return PermissionDenied
    if code == 551:
        return RecipientUnavailable
    return None


class GraphClient(ApiClient):
    """An ``ApiClient`` whose refusals carry Meta's meaning: window closed, permission missing, person away."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Make one call; a refusal with a named Meta code is raised as that error."""
        try:
            return await super().call(method, path, params=params, json=json, idempotent=idempotent)
        except RequestRejected as exc:
            named = named_error(exc.code)
            if named is None or isinstance(exc, named):
                raise
            raise named(str(exc), status=exc.status, code=exc.code) from exc


def _usage_objects(value: Any) -> list[Mapping[str, Any]]:
    """The usage objects of one header: the object itself, or the lists under each business id."""
    if not isinstance(value, Mapping):
        return []
    nested = [u for v in value.values() if isinstance(v, list) for u in v if isinstance(u, Mapping)]
    return nested or [value]


def _is_percent(name: str, value: Any) -> bool:
    return name in {"call_count", "total_cputime", "total_time", "acc_id_util_pct"} and isinstance(value, int | float)

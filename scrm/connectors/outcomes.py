"""What a platform's answer means: one table from HTTP status to outcome, and the platform's wait hints.

Connectors override it with the platform's own signals (a WeChat ``errcode`` in a 200 body, Telegram
``parameters.retry_after``) by wrapping ``classify_status``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx


class Outcome(StrEnum):
    """What to do with a platform's answer."""

    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAIL = "fail"
    IGNORE = "ignore"
    REAUTH = "reauth"


STATUS_OUTCOMES: Mapping[int, Outcome] = {
    401: Outcome.FAIL,
    403: Outcome.FAIL,
    404: Outcome.IGNORE,
    408: Outcome.RETRY,
    410: Outcome.IGNORE,
    425: Outcome.RETRY,
    429: Outcome.RATE_LIMITED,
    500: Outcome.RETRY,
    502: Outcome.RETRY,
    503: Outcome.RETRY,
    504: Outcome.RETRY,
}
"""HTTP status → outcome; other 2xx are OK, other 4xx FAIL, other 5xx RETRY."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one call, with the platform's wait hint and error code when it gave them."""

    outcome: Outcome
    retry_after: float | None = None
    code: int | str | None = None
    detail: str = ""
    pause: float | None = None
    """On a successful call: the platform's quota is used up, so wait this many seconds before the next one."""


def outcome_for_status(status: int, overrides: Mapping[int, Outcome] | None = None) -> Outcome:
    """Look a status up in the platform's overrides, then in ``STATUS_OUTCOMES``, then by its class."""
    found = (overrides or {}).get(status) or STATUS_OUTCOMES.get(status)
    if found is not None:
        return found
    if 200 <= status < 300:
        return Outcome.OK
    return Outcome.RETRY if status >= 500 else Outcome.FAIL


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Read a ``Retry-After`` header: delay seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def quota_reset_wait(headers: httpx.Headers, now: datetime, prefix: str) -> float | None:
    """Read ``<prefix>remaining`` / ``<prefix>reset`` quota headers: seconds until reset when none is left.

    ``reset`` is a Unix time in seconds (X ``x-rate-limit-reset``, x.md d). None when calls remain or the
    headers are missing or unreadable.
    """
    try:
        remaining = int(headers.get(prefix + "remaining", ""))
        reset = float(headers.get(prefix + "reset", ""))
    except ValueError:
        return None
    if remaining > 0:
        return None
    return max(0.0, reset - now.timestamp())


def classify_status(response: httpx.Response, now: datetime) -> Verdict:
    """Judge a response by its status code and ``Retry-After`` header alone."""
    outcome = outcome_for_status(response.status_code)
    detail = "" if outcome is Outcome.OK else response.text[:500]
    return Verdict(outcome, parse_retry_after(response.headers.get("retry-after"), now), None, detail)


Classifier = Callable[[httpx.Response, datetime], Verdict]
"""Judges one response at a given time."""

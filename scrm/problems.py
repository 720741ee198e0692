"""Errors as RFC 9457 problem details: `application/problem+json` with type, title, status and detail."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(status: int, detail: str, extra: dict[str, Any] | None = None) -> Response[Any]:
    """A problem-details answer with the given status and human-readable detail."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def problem_with(status: int) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
    """An exception handler answering with `status` and the exception's message as the detail."""

    def handle(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        return problem_response(status, str(exc))

    return handle


def describe(exc: Exception) -> tuple[int, str, dict[str, Any]]:
    """Status, detail and extra members for an exception; anything unexpected is a 500 without internals."""
    if isinstance(exc, ValidationException):
        return exc.status_code, exc.detail, {"errors": exc.extra} if exc.extra else {}
    if isinstance(exc, HTTPException):
        return exc.status_code, exc.detail, {}
    return 500, "An unexpected error occurred; it has been logged.", {}


def handle_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Exception handler answering every error as problem details (the API and the webhook ingress)."""
    status, detail, extra = describe(exc)
    if status >= 500:
        log.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(status, detail, extra)

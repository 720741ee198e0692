"""Errors in the UI: a readable page for people, problem details for machines."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Template

from scrm.problems import describe, handle_problem
from scrm.web.pages import page_context

MACHINE_PREFIXES = ("/api/", "/webhooks/", "/health")


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Answer as problem details on machine paths or to non-browsers, and as an HTML page to browsers."""
    wants_html = "text/html" in request.headers.get("accept", "")
    if request.url.path.startswith(MACHINE_PREFIXES) or not wants_html:
        return handle_problem(request, exc)
    status, detail, _ = describe(exc)
    if status >= 500:
        handle_problem(request, exc)  # logs it
    context = page_context(request, "error", status_code=status, detail=detail)
    if status == 404:
        context["detail"] = context["t"]("error.not_found")
    return Template(template_name="error.html", context=context, status_code=status)

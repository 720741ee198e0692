"""Every page but the public ones needs a signed-in user; others are sent to the login page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect, Response
from litestar.types import ASGIApp, Receive, Scope, Send

from scrm.auth.ui.signed_in import find_signed_in

# Reachable without logging in: health checks, assets, the language switch, platform webhooks (they sign
# their deliveries), the API (bearer tokens), the OpenAPI viewer and the login pages themselves.
PUBLIC_PREFIXES = ("/health", "/static/", "/lang/", "/webhooks/", "/api/", "/login", "/favicon.ico")


def is_public(scope: Scope) -> bool:
    """Is this request for a path anyone may open?"""
    path: str = scope["path"]
    return path.startswith(PUBLIC_PREFIXES)


class SignedInMiddleware(ASGIMiddleware):
    """Put the signed-in user on `scope["user"]`, or redirect to `/login?next=…` (401 for htmx requests)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self.should_bypass_for_scope = is_public

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Admit signed-in users only."""
        request: Request[Any, Any, Any] = Request(scope)
        signed_in = await find_signed_in(request)
        if signed_in is not None:
            scope["user"] = signed_in
            await next_app(scope, receive, send)
            return
        target = f"/login?next={quote(request.url.path)}"
        response: Response[Any]
        if request.headers.get("hx-request"):
            response = Response(content=None, status_code=401, headers={"HX-Redirect": target})
        else:
            response = Redirect(path=target, status_code=303)
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)

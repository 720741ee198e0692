"""Who is calling `/api/v1`: bearer tokens, a rate limit per token, and the role each route requires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from scrm.auth.clock import now_of
from scrm.auth.ratelimit import RateDecision, hit
from scrm.auth.roles import Permission, Principal
from scrm.auth.tokens import authenticate
from scrm.problems import problem_response

RATE_LIMIT_STATE_KEY = "api_rate_limit"
DEFAULT_RATE_LIMIT = (600, timedelta(minutes=1))
CHALLENGE = 'Bearer realm="scrm"'
Caller = NamedDependency[Principal]
"""A handler argument `principal: Caller` receives the Principal the middleware admitted."""
Now = NamedDependency[datetime]
"""A handler argument `now: Now` receives the app's clock reading."""
NO_CREDENTIALS_DETAIL = (
    "Authentication required: send `Authorization: Bearer <token>` (create one with `scrm tokens create`)."
)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class BearerAuthMiddleware(ASGIMiddleware):
    """Admit a request with a live token of some workspace, within its rate limit; 401 or 429 otherwise."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Put the token's Principal on `scope["user"]` and add RateLimit headers to the answer."""
        request: Request[Any, Any, Any] = Request(scope)
        now = now_of(request.app.state)
        plain = bearer_token(request.headers.get("authorization"))
        principal = await authenticate(plain, now) if plain else None
        if principal is None:
            detail = "This API token is unknown or revoked." if plain else NO_CREDENTIALS_DETAIL
            response = problem_response(401, detail)
            response.headers["WWW-Authenticate"] = CHALLENGE
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
            return
        limit, window = request.app.state.get(RATE_LIMIT_STATE_KEY) or DEFAULT_RATE_LIMIT
        decision = await hit(f"api:{principal.actor}", limit, window, now)
        if not decision.allowed:
            retry = decision.retry_after(now)
            response = problem_response(
                429, f"Rate limit of {limit} requests per {window} exceeded; retry in {retry} s."
            )
            response.headers.update({"Retry-After": str(retry), **_rate_headers(decision, now)})
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
            return
        scope["user"] = principal
        await next_app(scope, receive, _with_headers(send, _rate_headers(decision, now)))


def _rate_headers(decision: RateDecision, now: datetime) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.retry_after(now)),
    }


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            mutable = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                mutable[name] = value
        await send(message)

    return sending


def requires(permission: Permission) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard admitting only principals whose role includes `permission` (403 otherwise)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = cast(Principal, connection.user)
        if not principal.can(permission):
            raise PermissionDeniedException(f"The {principal.role.value} role may not do this ({permission.value}).")

    return guard


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The Principal the middleware admitted (a dependency for handlers)."""
    return cast(Principal, request.user)


def provide_now(request: Request[Any, Any, Any]) -> datetime:
    """The app's clock (a dependency for handlers)."""
    return now_of(request.app.state)

"""The login pages: email and password, then the TOTP or recovery code when two-factor login is on; logout."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from scrm.auth import audit
from scrm.auth.clock import now_of
from scrm.auth.login import Client, LoginRefused, log_in, pass_second_factor
from scrm.auth.sessions import end_session
from scrm.auth.ui.signed_in import (
    LOGIN_CSRF_COOKIE,
    SignedIn,
    check_csrf,
    cleared_session_cookie,
    find_live_session,
    login_csrf_cookie,
    login_csrf_token,
    safe_next,
    session_cookie,
)
from scrm.models import AuditAction
from scrm.web.pages import page_context

REFUSALS = {"invalid": (401, "login.invalid"), "code": (401, "login.code_invalid"), "locked": (429, "login.locked")}


class LoginForm(msgspec.Struct):
    """What the login form posts."""

    email: str
    password: str
    csrf_token: str = ""
    next: str = "/"


class CodeForm(msgspec.Struct):
    """What the second-factor form posts."""

    code: str
    csrf_token: str = ""
    next: str = "/"


class CsrfForm(msgspec.Struct):
    """A form that posts nothing but its CSRF token."""

    csrf_token: str = ""


def client_of(request: Request[Any, Any, Any]) -> Client:
    """Where a request comes from, for lockout and the audit log."""
    return Client(ip=request.client.host if request.client else "", user_agent=request.headers.get("user-agent", ""))


def refused_page(request: Request[Any, Any, Any], template: str, refusal: LoginRefused, **extra: Any) -> Template:
    """The form again, with what went wrong, and 401 or 429."""
    status, key = REFUSALS[refusal.reason]
    context = page_context(request, "login", **extra)
    context["error"] = context["t"](key, minutes=max(refusal.retry_after // 60, 1))
    return Template(template_name=template, context=context, status_code=status)


class LoginController(Controller):
    """Logging in and out of the web UI."""

    include_in_schema = False

    @get("/login", name="login")
    async def login_page(self, request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template | Redirect:
        """The login form (or the code form when the password was already accepted)."""
        session = await find_live_session(request)
        if session is not None:
            target = "/login/code" if session.second_factor_pending else safe_next(next)
            return Redirect(path=f"{target}?next={safe_next(next)}" if session.second_factor_pending else target)
        token = login_csrf_token(request)
        context = page_context(request, "login", csrf_token=token, next=safe_next(next), error=None)
        return Template(template_name="login.html", context=context, cookies=[login_csrf_cookie(token)])

    @post("/login", name="login_submit")
    async def login_submit(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[LoginForm]
    ) -> Template | Redirect:
        """Check the password; open a session, or ask for the second factor."""
        check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), data.csrf_token)
        try:
            started = await log_in(data.email, data.password, client_of(request), now_of(request.app.state))
        except LoginRefused as refusal:
            extra = {"csrf_token": data.csrf_token, "next": safe_next(data.next), "email": data.email}
            return refused_page(request, "login.html", refusal, **extra)
        target = f"/login/code?next={safe_next(data.next)}" if started.second_factor_required else safe_next(data.next)
        return Redirect(path=target, status_code=303, cookies=[session_cookie(request, started.token)])

    @get("/login/code", name="login_code")
    async def code_page(self, request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template | Redirect:
        """The second-factor form."""
        session = await find_live_session(request)
        if session is None or not session.second_factor_pending:
            return Redirect(path="/login")
        context = page_context(request, "login", csrf_token=session.csrf_token, next=safe_next(next), error=None)
        return Template(template_name="login_code.html", context=context)

    @post("/login/code", name="login_code_submit")
    async def code_submit(self, request: Request[Any, Any, Any], data: URLEncodedBody[CodeForm]) -> Template | Redirect:
        """Accept a TOTP or recovery code and finish logging in."""
        session = await find_live_session(request)
        if session is None or not session.second_factor_pending:
            return Redirect(path="/login", status_code=303)
        check_csrf(session.csrf_token, data.csrf_token)
        try:
            _, token = await pass_second_factor(session, data.code, client_of(request), now_of(request.app.state))
        except LoginRefused as refusal:
            extra = {"csrf_token": session.csrf_token, "next": safe_next(data.next)}
            return refused_page(request, "login_code.html", refusal, **extra)
        return Redirect(path=safe_next(data.next), status_code=303, cookies=[session_cookie(request, token)])

    @post("/logout", name="logout")
    async def logout(self, request: Request[Any, Any, Any], data: URLEncodedBody[CsrfForm]) -> Redirect:
        """Log this browser out."""
        signed_in: SignedIn = request.scope["user"]
        check_csrf(signed_in.csrf_token, data.csrf_token)
        await end_session(signed_in.session)
        now = now_of(request.app.state)
        actor = f"user:{signed_in.user.id}"
        await audit.record(
            AuditAction.LOGOUT, actor, now, workspace_id=signed_in.session.workspace_id, ip=client_of(request).ip
        )
        return Redirect(path="/login", status_code=303, cookies=[cleared_session_cookie()])

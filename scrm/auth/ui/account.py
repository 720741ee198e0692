"""The account page: workspaces and roles, two-factor login on and off, logging out everywhere."""

from __future__ import annotations

from typing import Any

import msgspec
from beanie import PydanticObjectId
from beanie.operators import In
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from scrm.auth import audit
from scrm.auth.accounts import memberships_of
from scrm.auth.clock import now_of
from scrm.auth.second_factor import SecondFactorError, confirm_setup, disable, start_setup
from scrm.auth.sessions import end_all_sessions, switch_workspace
from scrm.auth.totp import provisioning_uri
from scrm.auth.ui.login import CsrfForm, client_of
from scrm.auth.ui.signed_in import SignedIn, check_csrf, cleared_session_cookie
from scrm.models import AuditAction, Workspace
from scrm.web.pages import page_context


class CodeForm(msgspec.Struct):
    """A form posting an authenticator code."""

    code: str
    csrf_token: str = ""


class PasswordForm(msgspec.Struct):
    """A form posting the current password."""

    password: str
    csrf_token: str = ""


class WorkspaceForm(msgspec.Struct):
    """A form choosing the workspace to work in."""

    workspace_id: str
    csrf_token: str = ""


def signed_in_of(request: Request[Any, Any, Any], csrf_token: str | None = None) -> SignedIn:
    """The signed-in user (the middleware let only them through); checks the form's CSRF token when given."""
    signed_in: SignedIn = request.scope["user"]
    if csrf_token is not None:
        check_csrf(signed_in.csrf_token, csrf_token)
    return signed_in


async def account_page(request: Request[Any, Any, Any], status_code: int = 200, **extra: Any) -> Template:
    """The account page for the signed-in user, with optional messages or recovery codes."""
    signed_in = signed_in_of(request)
    user = signed_in.user
    assert user.id is not None
    memberships = await memberships_of(user.id)
    names = {w.id: w for w in await Workspace.find(In(Workspace.id, [m.workspace_id for m in memberships])).to_list()}
    rows = [(names[m.workspace_id], m.role.value) for m in memberships if m.workspace_id in names]
    pending = provisioning_uri(user.totp_secret, user.email) if user.totp_secret and not user.totp_enabled else None
    context = page_context(
        request,
        "account",
        account=user,
        workspaces=rows,
        current_workspace=signed_in.session.workspace_id,
        csrf_token=signed_in.csrf_token,
        totp_uri=pending,
        totp_secret=user.totp_secret if pending else None,
        **{"recovery_codes": None, "error": None, "notice": None, **extra},
    )
    return Template(template_name="account.html", context=context, status_code=status_code)


class AccountController(Controller):
    """The signed-in user's own account."""

    include_in_schema = False
    path = "/account"

    @get("/", name="account")
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        """The account page."""
        return await account_page(request)

    @post("/totp/setup", name="totp_setup")
    async def totp_setup(self, request: Request[Any, Any, Any], data: URLEncodedBody[CsrfForm]) -> Template:
        """Make a TOTP secret to enter in an authenticator app (not yet in force)."""
        signed_in = signed_in_of(request, data.csrf_token)
        try:
            await start_setup(signed_in.user)
        except SecondFactorError as exc:
            return await account_page(request, 409, error=str(exc))
        return await account_page(request)

    @post("/totp/confirm", name="totp_confirm")
    async def totp_confirm(self, request: Request[Any, Any, Any], data: URLEncodedBody[CodeForm]) -> Template:
        """Turn two-factor login on with a first code; shows the recovery codes once."""
        signed_in = signed_in_of(request, data.csrf_token)
        try:
            codes = await confirm_setup(signed_in.user, data.code, now_of(request.app.state))
        except SecondFactorError as exc:
            return await account_page(request, 400, error=str(exc))
        return await account_page(request, recovery_codes=codes)

    @post("/totp/disable", name="totp_disable")
    async def totp_disable(self, request: Request[Any, Any, Any], data: URLEncodedBody[PasswordForm]) -> Template:
        """Turn two-factor login off (asks for the password again)."""
        signed_in = signed_in_of(request, data.csrf_token)
        try:
            await disable(signed_in.user, data.password, now_of(request.app.state))
        except SecondFactorError as exc:
            return await account_page(request, 400, error=str(exc))
        return await account_page(request)

    @post("/workspace", name="switch_workspace")
    async def switch(self, request: Request[Any, Any, Any], data: URLEncodedBody[WorkspaceForm]) -> Redirect:
        """Work in another of the user's workspaces."""
        signed_in = signed_in_of(request, data.csrf_token)
        assert signed_in.user.id is not None
        mine = {m.workspace_id for m in await memberships_of(signed_in.user.id)}
        if not PydanticObjectId.is_valid(data.workspace_id) or PydanticObjectId(data.workspace_id) not in mine:
            raise NotFoundException("You are not a member of that workspace")
        await switch_workspace(signed_in.session, PydanticObjectId(data.workspace_id))
        return Redirect(path="/", status_code=303)

    @post("/logout-everywhere", name="logout_everywhere")
    async def logout_everywhere(self, request: Request[Any, Any, Any], data: URLEncodedBody[CsrfForm]) -> Redirect:
        """End every session of this user, on every device."""
        signed_in = signed_in_of(request, data.csrf_token)
        user_id = signed_in.user.id
        assert user_id is not None
        ended = await end_all_sessions(user_id)
        now, ip = now_of(request.app.state), client_of(request).ip
        for member in await memberships_of(user_id):
            details = {"sessions": ended}
            await audit.record(
                AuditAction.LOGOUT_EVERYWHERE,
                f"user:{user_id}",
                now,
                workspace_id=member.workspace_id,
                ip=ip,
                details=details,
            )
        return Redirect(path="/login", status_code=303, cookies=[cleared_session_cookie()])

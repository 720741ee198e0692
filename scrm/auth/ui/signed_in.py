"""Who is signed in on a browser request: the session cookie, read and checked against MongoDB."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException

from scrm.auth.clock import now_of
from scrm.auth.roles import Principal
from scrm.auth.sessions import LIFETIME, find_session
from scrm.models import LoginSession, Membership, User, Workspace, WorkspaceScope

SESSION_COOKIE = "scrm_session"
LOGIN_CSRF_COOKIE = "scrm_login_csrf"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The signed-in user of a request, their session, and their workspace and role in it (if any)."""

    user: User
    session: LoginSession
    workspace: Workspace | None
    membership: Membership | None

    @property
    def csrf_token(self) -> str:
        """The token every form of this session must send back."""
        return self.session.csrf_token

    def principal(self) -> Principal | None:
        """The user as a Principal of their current workspace (None without a membership there)."""
        if self.membership is None:
            return None
        return Principal(
            workspace_id=self.membership.workspace_id,
            role=self.membership.role,
            actor=f"user:{self.user.id}",
            channel_ids=frozenset(self.membership.channel_ids),
            team_ids=frozenset(self.membership.team_ids),
        )


async def find_live_session(request: Request[Any, Any, Any]) -> LoginSession | None:
    """The request's session (second factor pending or not), or None."""
    token = request.cookies.get(SESSION_COOKIE)
    return await find_session(token, now_of(request.app.state)) if token else None


async def find_signed_in(request: Request[Any, Any, Any]) -> SignedIn | None:
    """The fully signed-in user of this request, or None (no cookie, expired, second factor pending, disabled)."""
    session = await find_live_session(request)
    if session is None or session.second_factor_pending:
        return None
    user = await User.get(session.user_id)
    if user is None or user.disabled or user.id is None:
        return None
    workspace = await Workspace.get(session.workspace_id) if session.workspace_id else None
    membership = None
    if workspace is not None and workspace.id is not None:
        membership = await WorkspaceScope(workspace.id).find_one(Membership, {"user_id": user.id})
    return SignedIn(user=user, session=session, workspace=workspace, membership=membership)


def session_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Lax, Secure whenever scrm is served over HTTPS."""
    secure: bool = request.app.state.settings.public_url.startswith("https://")
    max_age = int(LIFETIME.total_seconds())
    return Cookie(
        key=SESSION_COOKIE, value=token, httponly=True, secure=secure, samesite="lax", path="/", max_age=max_age
    )


def cleared_session_cookie() -> Cookie:
    """A cookie that removes the session cookie from the browser."""
    return Cookie(key=SESSION_COOKIE, value="", httponly=True, samesite="lax", path="/", max_age=0)


def login_csrf_token(request: Request[Any, Any, Any]) -> str:
    """The login form's CSRF token: the browser's `scrm_login_csrf` cookie, or a new one to set."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def login_csrf_cookie(token: str) -> Cookie:
    """The cookie holding the login form's CSRF token (double submit: the form must repeat it)."""
    return Cookie(key=LOGIN_CSRF_COOKIE, value=token, httponly=True, samesite="strict", path="/login")


def check_csrf(expected: str | None, submitted: str) -> None:
    """403 unless the form sent back the token it was given."""
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise PermissionDeniedException(
            "This form has expired or came from another site; reload the page and try again."
        )


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"

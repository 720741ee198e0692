"""The overview's "Check now" button: an admin asks a channel's platform whether its credentials still work.

The form posts and redirects back to the overview (post/redirect/get), which then shows the answer: the status
and its reason, and "checked just now". A platform that cannot be reached leaves the channel as it was and
answers 502 with the reason.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from scrm.auth.clock import now_of
from scrm.auth.roles import Permission
from scrm.channel_checks import ChannelCheckFailed, check_channel
from scrm.models import NotInWorkspace
from scrm.web.errors import handle_error
from scrm.web.inbox.pages import form_principal


class CheckForm(msgspec.Struct):
    """The "Check now" form: only the session's CSRF token."""

    csrf_token: str = ""


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, NotFoundException(str(exc)))


def _unreachable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return handle_error(request, HTTPException(status_code=502, detail=str(exc)))


CHECK_ERRORS: ExceptionHandlersMap = {NotInWorkspace: _not_found, ChannelCheckFailed: _unreachable}


class ChannelCheckPageController(Controller):
    """`POST /overview/channels/{id}/check` (channel admins)."""

    path = "/overview/channels"
    include_in_schema = False
    exception_handlers = CHECK_ERRORS

    @post("/{channel_id:str}/check", name="overview_channel_check")
    async def check(
        self, request: Request[Any, Any, Any], channel_id: FromPath[str], data: URLEncodedBody[CheckForm]
    ) -> Redirect:
        """Ask the platform now, record the answer as the channel's health, and go back to the overview."""
        principal = form_principal(request, data, Permission.MANAGE_CHANNELS)
        await check_channel(principal, channel_id, request.app.state.settings, now_of(request.app.state))
        return Redirect(path=f"/#channel-{channel_id}", status_code=303)

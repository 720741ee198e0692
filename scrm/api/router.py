"""The `/api/v1` router: every resource, behind bearer tokens, with errors as problem details."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler
from pymongo.errors import DuplicateKeyError

from scrm.api.audit import AuditController
from scrm.api.canned import CannedResponsesController
from scrm.api.channels import ChannelsController
from scrm.api.comments import ChannelTemplatesController, CommentsController, PostsController
from scrm.api.contacts import ContactsController
from scrm.api.corrections import TagCorrectionsController
from scrm.api.csat import ConversationCsatController, CsatController
from scrm.api.inbox import ConversationsController
from scrm.api.members import MembersController
from scrm.api.merge_suggestions import MergeSuggestionsController
from scrm.api.merges import ContactMergesController, MergesController
from scrm.api.messages import MessagesController
from scrm.api.notes import NotesController
from scrm.api.presence import PresenceController
from scrm.api.security import BearerAuthMiddleware, provide_now, provide_principal
from scrm.api.sla import BusinessHoursController, SlaPolicyController
from scrm.api.teams import AvailabilityController, TeamsController
from scrm.api.tokens import TokensController
from scrm.api.workspace import WorkspaceController
from scrm.auth.accounts import AccountError
from scrm.models import NotInWorkspace, SecretKeyError
from scrm.problems import problem_response

SECURITY_SCHEME = "bearer"
MAX_BODY = 256 * 1024
RESOURCES: tuple[ControllerRouterHandler, ...] = (
    WorkspaceController,
    TokensController,
    AuditController,
    ChannelsController,
    ContactsController,
    MembersController,
    ConversationsController,
    MessagesController,
    NotesController,
    CannedResponsesController,
    TagCorrectionsController,
    ContactMergesController,
    MergeSuggestionsController,
    MergesController,
    BusinessHoursController,
    SlaPolicyController,
    TeamsController,
    AvailabilityController,
    PresenceController,
    CsatController,
    ConversationCsatController,
    PostsController,
    CommentsController,
    ChannelTemplatesController,
)


def _not_found(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(404, str(exc))


def _conflict(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(409, "Another item already has this unique value (a name or key)")


def _bad_request(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(400, str(exc))


def _too_large(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(413, f"The request body is larger than the API's limit of {MAX_BODY // 1024} KiB")


def _secret_key(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(503, str(exc))


def v1_router(path: str) -> Router:
    """Everything under `path` (`/api/v1`): bearer-token authentication, role guards, a body size limit."""
    return Router(
        path=path,
        route_handlers=list(RESOURCES),
        middleware=[BearerAuthMiddleware()],
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
            "now": Provide(provide_now, sync_to_thread=False),
        },
        exception_handlers={
            NotInWorkspace: _not_found,
            DuplicateKeyError: _conflict,
            AccountError: _bad_request,
            SecretKeyError: _secret_key,
            413: _too_large,
        },
        security=[{SECURITY_SCHEME: []}],
        request_max_body_size=MAX_BODY,
    )

"""`/api/v1/canned-responses`: saved replies with variables; the workspace's (admins and owners manage them) and
each member's personal ones (anyone who works the inbox keeps their own; nobody else sees them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ExceptionHandlersMap

from scrm.api.inbox import INBOX_ERRORS, READ, WORK
from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now
from scrm.inbox import canned
from scrm.inbox.replies import MAX_REPLY_LENGTH
from scrm.models import CannedResponse
from scrm.problems import problem_response

Name = Annotated[str, msgspec.Meta(pattern=canned.NAME.pattern)]
Text = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_REPLY_LENGTH,
        description="The reply; may hold the variables " + ", ".join("`{" + v + "}`" for v in canned.VARIABLES),
    ),
]
Language = Literal["en", "zh-CN"]


class CannedIn(msgspec.Struct, forbid_unknown_fields=True):
    """A canned response to save."""

    name: Name
    text: Text
    personal: bool | None = None
    """True: only yours; False: the whole workspace's (admins and owners); left out: the workspace's for admins
    and owners, personal for everyone else."""
    language: Language | None = None
    """The contacts' language it is written for; none: any."""


class RenderIn(msgspec.Struct, forbid_unknown_fields=True):
    """The conversation to fill a canned response's variables for."""

    conversation_id: str


class RenderOut(msgspec.Struct):
    """A canned response's text with its variables filled in; a missing value is an empty string."""

    text: str


class CannedPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a canned response; fields left out keep their value."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    text: Text | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType | None = msgspec.UNSET


class CannedOut(msgspec.Struct):
    """A canned response."""

    id: str
    name: str
    text: str
    created_by: str
    created_at: datetime
    personal: bool
    language: str | None


class CannedList(msgspec.Struct):
    """The canned responses the caller sees (a workspace keeps a few dozen, so no paging)."""

    items: list[CannedOut]


def canned_out(found: CannedResponse) -> CannedOut:
    """The API view of a canned response."""
    return CannedOut(
        str(found.id),
        found.name,
        found.text,
        found.created_by,
        found.created_at,
        found.owner_user_id is not None,
        found.language,
    )


def _refused(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(403, str(exc))


CANNED_ERRORS: ExceptionHandlersMap = {**INBOX_ERRORS, canned.CannedRefused: _refused}


class CannedResponsesController(Controller):
    """Saved replies."""

    path = "/canned-responses"
    tags = ("conversations",)
    exception_handlers = CANNED_ERRORS

    @get("/", guards=READ, summary="List canned responses")
    async def list(
        self,
        principal: Caller,
        mine: Annotated[
            bool | None, QueryParameter(description="true: only your personal ones; false: only the workspace's.")
        ] = None,
        language: Annotated[
            Language | None,
            QueryParameter(description="Only those in this language or for any, this language first."),
        ] = None,
    ) -> CannedList:
        """The workspace's canned responses and your own, by name (with `language`: that language first)."""
        found = await canned.canned_responses(principal, mine, language)
        return CannedList([canned_out(c) for c in found])

    @get("/{canned_id:str}", guards=READ, summary="Get a canned response")
    async def show(self, principal: Caller, canned_id: FromPath[str]) -> CannedOut:
        """One canned response."""
        return canned_out(await canned.get_canned(principal, parse_id(canned_id, "canned response")))

    @post("/", guards=WORK, summary="Save a canned response")
    async def create(self, principal: Caller, data: JSONBody[CannedIn], now: Now) -> CannedOut:
        """A new canned response; 409 when its owner (you, or the workspace) already uses the name, 400 for an
        unknown variable."""
        saved = await canned.save_canned(
            principal, data.name, data.text, now, personal=data.personal, language=data.language
        )
        return canned_out(saved)

    @post("/{canned_id:str}/render", guards=WORK, status_code=200, summary="Fill a canned response's variables")
    async def render(self, principal: Caller, canned_id: FromPath[str], data: JSONBody[RenderIn]) -> RenderOut:
        """The text for one conversation you may see (an agent: of their channels and teams, 404 otherwise)."""
        found = await canned.get_canned(principal, parse_id(canned_id, "canned response"))
        return RenderOut(await canned.render(principal, found, parse_id(data.conversation_id, "conversation")))

    @patch("/{canned_id:str}", guards=WORK, summary="Change a canned response")
    async def update(self, principal: Caller, canned_id: FromPath[str], data: JSONBody[CannedPatch]) -> CannedOut:
        """Rename or rewrite a canned response."""
        oid = parse_id(canned_id, "canned response")
        name = None if isinstance(data.name, msgspec.UnsetType) else data.name
        text = None if isinstance(data.text, msgspec.UnsetType) else data.text
        changes = {} if isinstance(data.language, msgspec.UnsetType) else {"language": data.language}
        return canned_out(await canned.change_canned(principal, oid, name, text, changes))

    @delete("/{canned_id:str}", guards=WORK, summary="Delete a canned response")
    async def remove(self, principal: Caller, canned_id: FromPath[str]) -> None:
        """Remove a canned response."""
        await canned.delete_canned(principal, parse_id(canned_id, "canned response"))

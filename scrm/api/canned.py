"""`/api/v1/canned-responses`: the replies the team saves and reuses; members who work the inbox manage them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from scrm.api.inbox import INBOX_ERRORS, READ, WORK
from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now
from scrm.inbox import canned
from scrm.inbox.replies import MAX_REPLY_LENGTH
from scrm.models import CannedResponse

Name = Annotated[str, msgspec.Meta(pattern=canned.NAME.pattern)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REPLY_LENGTH)]


class CannedIn(msgspec.Struct, forbid_unknown_fields=True):
    """A canned response to save."""

    name: Name
    text: Text


class CannedPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a canned response; fields left out keep their value."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    text: Text | msgspec.UnsetType = msgspec.UNSET


class CannedOut(msgspec.Struct):
    """A canned response."""

    id: str
    name: str
    text: str
    created_by: str
    created_at: datetime


class CannedList(msgspec.Struct):
    """Every canned response of the workspace, by name (a workspace keeps a few dozen, so no paging)."""

    items: list[CannedOut]


def canned_out(found: CannedResponse) -> CannedOut:
    """The API view of a canned response."""
    return CannedOut(str(found.id), found.name, found.text, found.created_by, found.created_at)


class CannedResponsesController(Controller):
    """Saved replies."""

    path = "/canned-responses"
    tags = ("conversations",)
    exception_handlers = INBOX_ERRORS

    @get("/", guards=READ, summary="List canned responses")
    async def list(self, principal: Caller) -> CannedList:
        """The workspace's canned responses, by name."""
        return CannedList([canned_out(c) for c in await canned.canned_responses(principal)])

    @get("/{canned_id:str}", guards=READ, summary="Get a canned response")
    async def show(self, principal: Caller, canned_id: FromPath[str]) -> CannedOut:
        """One canned response."""
        return canned_out(await canned.get_canned(principal, parse_id(canned_id, "canned response")))

    @post("/", guards=WORK, summary="Save a canned response")
    async def create(self, principal: Caller, data: JSONBody[CannedIn], now: Now) -> CannedOut:
        """A new canned response; 409 when the name is taken."""
        return canned_out(await canned.save_canned(principal, data.name, data.text, now))

    @patch("/{canned_id:str}", guards=WORK, summary="Change a canned response")
    async def update(self, principal: Caller, canned_id: FromPath[str], data: JSONBody[CannedPatch]) -> CannedOut:
        """Rename or rewrite a canned response."""
        oid = parse_id(canned_id, "canned response")
        name = None if isinstance(data.name, msgspec.UnsetType) else data.name
        text = None if isinstance(data.text, msgspec.UnsetType) else data.text
        return canned_out(await canned.change_canned(principal, oid, name, text))

    @delete("/{canned_id:str}", guards=WORK, summary="Delete a canned response")
    async def remove(self, principal: Caller, canned_id: FromPath[str]) -> None:
        """Remove a canned response."""
        await canned.delete_canned(principal, parse_id(canned_id, "canned response"))

"""WorkspaceScope: the one way to read and write a workspace's documents, so that no query forgets its tenant.

Code that serves a request never calls `Contact.find(...)` or `contact.save()` itself: it asks the scope it was
given (`scope.find(Contact, ...)`, `scope.replace(contact)`), and the scope adds `workspace_id` to every filter,
reads, updates and deletes alike. The few lookups that must span workspaces (a token found by its hash, the
workspaces of one user) say so with `across_workspaces(reason)`; the test suite watches every MongoDB command
and fails on a tenant query that carries no workspace and no such reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from beanie import PydanticObjectId
from beanie.exceptions import DocumentNotFound
from beanie.odm.queries.find import FindMany

from scrm.models.base import WorkspaceDocument

D = TypeVar("D", bound=WorkspaceDocument)

_crossing: ContextVar[str] = ContextVar("scrm_across_workspaces", default="")


class NotInWorkspace(LookupError):
    """No document with this id in this workspace; whether it exists elsewhere is deliberately not said."""


@contextmanager
def across_workspaces(reason: str) -> Iterator[None]:
    """Mark the queries inside as deliberately spanning workspaces, with the reason why."""
    token = _crossing.set(reason)
    try:
        yield
    finally:
        _crossing.reset(token)


def crossing_reason() -> str:
    """Why the current code reads across workspaces; empty when it does not."""
    return _crossing.get()


@dataclass(frozen=True, slots=True)
class WorkspaceScope:
    """Reads and writes of one workspace's documents, each filtered on `workspace_id`."""

    workspace_id: PydanticObjectId

    def _filters(self, filters: tuple[Mapping[str, Any], ...]) -> tuple[Mapping[str, Any], ...]:
        return ({"workspace_id": self.workspace_id}, *filters)

    def find(self, model: type[D], *filters: Mapping[str, Any]) -> FindMany[D]:
        """A query over this workspace's `model` documents matching every filter."""
        return model.find(*self._filters(filters))

    async def find_one(self, model: type[D], *filters: Mapping[str, Any]) -> D | None:
        """The first matching document of this workspace, or None."""
        found: D | None = await model.find_one(*self._filters(filters))
        return found

    async def get(self, model: type[D], document_id: PydanticObjectId, *filters: Mapping[str, Any]) -> D:
        """The document with this id in this workspace; NotInWorkspace when there is none."""
        found = await self.find_one(model, {"_id": document_id}, *filters)
        if found is None:
            raise NotInWorkspace(f"No {_kind(model)} {document_id} in this workspace")
        return found

    async def count(self, model: type[D], *filters: Mapping[str, Any]) -> int:
        """How many of this workspace's `model` documents match."""
        return await self.find(model, *filters).count()

    async def insert(self, document: D) -> D:
        """Store a new document in this workspace; refuses one that names another workspace."""
        self._check_owner(document)
        await document.insert()
        return document

    async def replace(self, document: D) -> D:
        """Write back a changed document, matched on its id *and* this workspace."""
        self._check_owner(document)
        try:
            result = await type(document).find_one(*self._filters(({"_id": document.id},))).replace_one(document)
        except DocumentNotFound:
            result = None
        if result is None or result.matched_count == 0:
            raise NotInWorkspace(f"No {_kind(type(document))} {document.id} in this workspace")
        return document

    async def delete(self, document: D) -> None:
        """Delete a document, matched on its id *and* this workspace."""
        self._check_owner(document)
        await type(document).find(*self._filters(({"_id": document.id},))).delete()

    def _check_owner(self, document: WorkspaceDocument) -> None:
        if document.workspace_id != self.workspace_id:
            raise NotInWorkspace(f"This {_kind(type(document))} belongs to another workspace")


def _kind(model: type[WorkspaceDocument]) -> str:
    """`ApiToken` -> `api token`: a document class named in words."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()

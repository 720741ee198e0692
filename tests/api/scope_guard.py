"""A MongoDB command listener that catches tenant queries without a workspace filter.

Every command against a collection of `WorkspaceDocument`s must filter on `workspace_id` (that is what
`WorkspaceScope` adds), unless the code said why it reads across workspaces (`across_workspaces`). Inserts
carry the workspace in the document itself and are not checked here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pymongo import monitoring

from scrm.models import DOCUMENTS
from scrm.models.base import WorkspaceDocument
from scrm.models.scope import crossing_reason

TENANT_COLLECTIONS = frozenset(str(model.Settings.name) for model in DOCUMENTS if issubclass(model, WorkspaceDocument))


def mentions_workspace(query: Mapping[str, Any]) -> bool:
    """Does the filter constrain `workspace_id` (directly or in an `$and`)?"""
    if "workspace_id" in query:
        return True
    return any(mentions_workspace(part) for part in query.get("$and", []))


def filters_of(name: str, command: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The filters a read, update or delete command applies (none for inserts and cursors)."""
    if name == "find":
        return [command.get("filter", {})]
    if name in ("count", "distinct", "findAndModify"):
        return [command.get("query", {})]
    if name == "update":
        return [u.get("q", {}) for u in command.get("updates", [])]
    if name == "delete":
        return [d.get("q", {}) for d in command.get("deletes", [])]
    if name == "aggregate":
        pipeline = command.get("pipeline", [])
        return [pipeline[0].get("$match", {}) if pipeline else {}]
    return []


class ScopeGuard(monitoring.CommandListener):
    """Records, while active, every unscoped command against a tenant collection."""

    def __init__(self) -> None:
        self.active = False
        self.violations: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Check one command as it is sent."""
        name = event.command_name
        collection = event.command.get(name)
        if not self.active or crossing_reason() or collection not in TENANT_COLLECTIONS:
            return
        for query in filters_of(name, event.command):
            if not mentions_workspace(query):
                self.violations.append(f"{name} on {collection} without workspace_id: {dict(query)}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Nothing to check on success."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing to check on failure."""

    @contextmanager
    def watching(self) -> Iterator[list[str]]:
        """Check every command sent inside the block; yields the list of violations found."""
        self.violations = []
        self.active = True
        try:
            yield self.violations
        finally:
            self.active = False


_GUARD = ScopeGuard()
_registered: list[ScopeGuard] = []


def installed_guard() -> ScopeGuard:
    """The one process-wide guard, registered with PyMongo before any client exists (idempotent)."""
    if not _registered:
        monitoring.register(_GUARD)
        _registered.append(_GUARD)
    return _GUARD

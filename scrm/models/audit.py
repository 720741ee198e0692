"""AuditEntry: who did what, when, to what — for security-relevant actions, appended and never changed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from scrm.models.base import utcnow


class AuditAction(StrEnum):
    """The security-relevant actions scrm records."""

    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    LOGOUT_EVERYWHERE = "logout.everywhere"
    SECOND_FACTOR_ENABLED = "totp.enabled"
    SECOND_FACTOR_DISABLED = "totp.disabled"
    WORKSPACE_CREATED = "workspace.created"
    MEMBER_ADDED = "member.added"
    MEMBER_REMOVED = "member.removed"
    ROLE_CHANGED = "member.role_changed"
    TOKEN_CREATED = "token.created"  # noqa: S105 (an action name, not a password)
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 (an action name, not a password)
    CHANNEL_CREATED = "channel.created"
    CHANNEL_DELETED = "channel.deleted"
    CREDENTIALS_CHANGED = "channel.credentials_changed"
    SECRETS_ROTATED = "secrets.rotated"
    DATA_EXPORTED = "data.exported"
    CONTACT_ERASED = "contact.erased"
    CONTACTS_MERGED = "contact.merged"
    CONTACTS_UNMERGED = "contact.unmerged"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_BLOCKED = "contact.blocked"
    CONTACT_UNBLOCKED = "contact.unblocked"


class AppendOnlyError(TypeError):
    """Raised on any attempt to change or delete an audit entry."""


class AuditEntry(Document):
    """One recorded action. `workspace_id` is empty only for events outside any workspace (unknown email).

    Append-only by construction: the only write is `insert()`; every method that would change or remove a
    stored entry raises AppendOnlyError, and no part of scrm offers an update or delete of this collection.
    """

    workspace_id: PydanticObjectId | None = None
    at: datetime = Field(default_factory=utcnow)
    action: AuditAction
    actor: str
    target: str = ""
    ip: str = ""
    details: dict[str, Any] = Field(default_factory=dict)

    class Settings:
        name = "audit_log"
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)], name="workspace_at"),
        ]

    def _refuse(self) -> NoReturn:
        raise AppendOnlyError("The audit log is append-only: entries are never changed or deleted")

    def save(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: an audit entry is written once with insert()."""
        self._refuse()

    def replace(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: an audit entry is written once with insert()."""
        self._refuse()

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: an audit entry is written once with insert()."""
        self._refuse()

    def set(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: an audit entry is written once with insert()."""
        self._refuse()

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: an audit entry is never removed."""
        self._refuse()

"""Editing a contact by hand: checked, normalised, audited; and blocking or unblocking one.

Used alike by the API (`PATCH /api/v1/contacts/{id}`, block and unblock) and by the inbox's contact panel. The
audit log keeps which fields changed, never their values (it holds no personal data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.auth.roles import Principal
from scrm.auth.visibility import contact_filter
from scrm.contacts.suggestions import normalise_phone
from scrm.models import AuditAction, Contact
from scrm.models.contact import SEARCHED_FIELDS, contact_terms

EDITABLE = ("name", "email", "phone", "language", "timezone", "tags", "attributes")
MAX_NAME = 200
MAX_EMAIL = 320
MAX_TAG = 64
MAX_TAGS = 100
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 1000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_.\- ]+$")


class ContactInputError(ValueError):
    """A change to a contact that cannot be stored as given; the message says which field and why."""


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes checked and normalised (phone in E.164, tags trimmed and unique); ContactInputError otherwise.

    Only the fields in EDITABLE may change; `None` (or "") clears email, phone, language and timezone.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ContactInputError(f"These fields cannot be edited: {', '.join(unknown)}")
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        cleaned[name] = _CLEANERS[name](value)
    return cleaned


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ContactInputError(f"{name} must be text")
    return value.strip()


def _name(value: Any) -> str:
    text = _text(value or "", "name")
    if len(text) > MAX_NAME:
        raise ContactInputError(f"name is too long: {len(text)} characters, at most {MAX_NAME}")
    return text


def _email(value: Any) -> str | None:
    text = _text(value or "", "email")
    if not text:
        return None
    if len(text) > MAX_EMAIL:
        raise ContactInputError(f"email is too long: {len(text)} characters, at most {MAX_EMAIL}")
    if not EMAIL.match(text):
        raise ContactInputError(f"email {text!r} is not an email address (name@example.com)")
    return text.lower()


def _phone(value: Any) -> str | None:
    text = _text(value or "", "phone")
    if not text:
        return None
    normalised = normalise_phone(re.sub(r"[\s().\-]", "", text)) if len(text) <= 40 else None
    if normalised is None:
        raise ContactInputError(
            f"phone {text[:40]!r} is not a valid phone number: write it with its country code, like +8613812345678"
        )
    return normalised


def _language(value: Any) -> str | None:
    text = _text(value or "", "language")
    if not text:
        return None
    if len(text) > 16 or not LANGUAGE.match(text):
        raise ContactInputError(f"language {text[:16]!r} is not a language tag (such as en, zh-CN, pt-BR)")
    return text


def _timezone(value: Any) -> str | None:
    text = _text(value or "", "timezone")
    if not text:
        return None
    if len(text) > 64 or text not in _zones():
        raise ContactInputError(f"timezone {text[:64]!r} is not an IANA time zone (such as Asia/Shanghai, UTC)")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ContactInputError(f"timezone {text!r} is not an IANA time zone") from exc
    return text


def _zones() -> set[str]:
    return available_timezones() | {"UTC"}


def _tags(value: Any) -> list[str]:
    raw = value.split(",") if isinstance(value, str) else value
    if not isinstance(raw, list):
        raise ContactInputError("tags must be a list of text")
    tags: list[str] = []
    for item in raw:
        tag = _text(item, "a tag")
        if len(tag) > MAX_TAG:
            raise ContactInputError(f"tag {tag[:20]!r}… is too long: {len(tag)} characters, at most {MAX_TAG}")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ContactInputError(f"too many tags: {len(tags)}, at most {MAX_TAGS}")
    return tags


def _attributes(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContactInputError("attributes must be an object of key and value")
    if len(value) > MAX_ATTRIBUTES:
        raise ContactInputError(f"too many attributes: {len(value)}, at most {MAX_ATTRIBUTES}")
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        name = _text(key, "an attribute name")
        if not name or len(name) > MAX_ATTRIBUTE_KEY or not ATTRIBUTE_KEY.match(name) or name.startswith("$"):
            raise ContactInputError(
                f"attribute name {name[:MAX_ATTRIBUTE_KEY]!r} must have 1 to {MAX_ATTRIBUTE_KEY} letters, digits, "
                "spaces or any of _ . -"
            )
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ContactInputError(f"attribute {name!r} must be text, a number, true/false or null")
        if isinstance(item, str) and len(item) > MAX_ATTRIBUTE_VALUE:
            raise ContactInputError(
                f"attribute {name!r} is too long: {len(item)} characters, at most {MAX_ATTRIBUTE_VALUE}"
            )
        cleaned[name] = item
    return cleaned


_CLEANERS = {
    "name": _name,
    "email": _email,
    "phone": _phone,
    "language": _language,
    "timezone": _timezone,
    "tags": _tags,
    "attributes": _attributes,
}


def parse_attribute_lines(text: str) -> dict[str, str]:
    """Attributes written one per line as `key: value` (or `key = value`), as the panel's form sends them."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        split = re.match(r"^([^:=]*)[:=](.*)$", line)
        if split is None:
            raise ContactInputError(f"attributes line {number} has no `:` between the name and the value")
        found[split.group(1).strip()] = split.group(2).strip()
    return found


async def visible_contact(principal: Principal, contact_id: PydanticObjectId) -> Contact:
    """A contact the principal may see; NotInWorkspace otherwise (an agent: only contacts within reach)."""
    return await principal.scope.get(Contact, contact_id, await contact_filter(principal))


async def edit_contact(
    principal: Principal, contact_id: PydanticObjectId, changes: Mapping[str, Any], now: datetime
) -> Contact:
    """Check, store and audit changes to a contact the principal may see (permission is the caller's to check)."""
    cleaned = clean_changes(changes)
    contact = await visible_contact(principal, contact_id)
    changed = sorted(name for name, value in cleaned.items() if getattr(contact, name) != value)
    for name in changed:
        setattr(contact, name, cleaned[name])
    if changed:
        contact.search_terms = contact_terms(contact.model_dump(include=set(SEARCHED_FIELDS)))
        await principal.scope.replace(contact)
        await _audit(principal, AuditAction.CONTACT_UPDATED, contact_id, now, {"fields": changed})
    return contact


async def set_blocked(principal: Principal, contact_id: PydanticObjectId, blocked: bool, now: datetime) -> Contact:
    """Block or unblock a contact the principal may see, audited.

    A blocked contact's messages are still stored, but they reopen none of its conversations, which leave the
    inbox's default list (its `blocked` filter shows them), and nothing more is sent to it.
    """
    contact = await visible_contact(principal, contact_id)
    if contact.blocked != blocked:
        await principal.scope.find(Contact, {"_id": contact_id}).update({"$set": {"blocked": blocked}})
        contact.blocked = blocked
        action = AuditAction.CONTACT_BLOCKED if blocked else AuditAction.CONTACT_UNBLOCKED
        await _audit(principal, action, contact_id, now, {})
    return contact


async def _audit(
    principal: Principal, action: AuditAction, contact_id: PydanticObjectId, now: datetime, details: dict[str, Any]
) -> None:
    await audit.record(
        action,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"contact:{contact_id}",
        details=details,
    )

"""Contact: the unified customer profile, one person across every channel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import BaseModel, Field, model_validator
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from scrm.models.base import WorkspaceDocument
from scrm.search_terms import contact_search_terms


class Identity(BaseModel):
    """One account of the person on one platform: (platform, external id) names it everywhere."""

    platform: str
    external_id: str
    key: str = ""
    channel_id: PydanticObjectId | None = None
    username: str = ""
    display_name: str = ""
    avatar_url: str = ""

    @model_validator(mode="after")
    def _derive_key(self) -> Identity:
        # One field holding both parts: a compound multikey index over two fields of the same array would
        # index every platform with every external id of the contact and refuse innocent combinations.
        self.key = identity_key(self.platform, self.external_id)
        return self


def identity_key(platform: str, external_id: str) -> str:
    """The unique name of an identity: `platform:external_id`."""
    return f"{platform}:{external_id}"


class ConsentStatus(StrEnum):
    """Whether the person agreed to receive marketing messages."""

    UNKNOWN = "unknown"
    GRANTED = "granted"
    DENIED = "denied"


class Consent(BaseModel):
    """Marketing consent, with where and when it was given or withdrawn."""

    status: ConsentStatus = ConsentStatus.UNKNOWN
    source: str = ""
    changed_at: datetime | None = None


class Contact(WorkspaceDocument):
    """The person behind every identity; messages, comments and follows point to them."""

    identities: list[Identity] = Field(default_factory=list)
    name: str = ""
    avatar_url: str = ""
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    timezone: str | None = None
    consent: Consent = Field(default_factory=Consent)
    blocked: bool = False
    sentiment: float | None = None
    last_seen_at: datetime | None = None
    merged_into: PydanticObjectId | None = None
    search_terms: list[str] = Field(default_factory=list)
    """Name, identities' display names and usernames, email and phone cut into search terms (`contact_terms`),
    for the `workspace_search` index; whoever changes those fields stores `contact_terms` of the result."""

    @model_validator(mode="after")
    def _fill_search_terms(self) -> Contact:
        """A contact built with a name, handle, email or phone and no terms gets them."""
        if not self.search_terms:
            self.search_terms = contact_terms(self.model_dump(include=set(SEARCHED_FIELDS)))
        return self

    class Settings:
        name = "contacts"
        indexes = [
            IndexModel(
                [("workspace_id", ASCENDING), ("identities.key", ASCENDING)],
                unique=True,
                partialFilterExpression={"identities.key": {"$exists": True}},
                name="identity_unique",
            ),
            IndexModel([("workspace_id", ASCENDING), ("last_seen_at", DESCENDING)], name="workspace_recent"),
            IndexModel([("workspace_id", ASCENDING), ("tags", ASCENDING)], name="workspace_tags"),
            IndexModel([("workspace_id", ASCENDING), ("email", ASCENDING)], sparse=True, name="workspace_email"),
            IndexModel([("workspace_id", ASCENDING), ("phone", ASCENDING)], sparse=True, name="workspace_phone"),
            IndexModel(  # the inbox leaves blocked contacts' conversations out of its default list
                [("workspace_id", ASCENDING), ("blocked", ASCENDING)],
                partialFilterExpression={"blocked": True},
                name="workspace_blocked",
            ),
            IndexModel(  # inbox search by name, handle, email or phone (see `scrm.inbox.search`)
                [("workspace_id", ASCENDING), ("search_terms", ASCENDING), ("last_seen_at", DESCENDING)],
                name="workspace_search",
            ),
        ]


SEARCHED_FIELDS = ("name", "identities", "email", "phone")
"""The fields `search_terms` is made of: a write changing any of them stores `contact_terms` too."""


def contact_terms(contact: Mapping[str, Any]) -> list[str]:
    """The search terms of a contact document (or `model_dump`): names and handles, email, phone numbers.

    A WhatsApp identity's external id is the person's phone number, so it counts as one.
    """
    identities = list(contact.get("identities") or [])
    names = [str(contact.get("name") or "")]
    for identity in identities:
        names += [str(identity.get("display_name") or ""), str(identity.get("username") or "")]
    phones = [str(contact.get("phone") or "")]
    phones += [str(i.get("external_id") or "") for i in identities if i.get("platform") == "whatsapp"]
    return contact_search_terms(names, [str(contact.get("email") or "")], phones)


async def refresh_contact_terms(contact_ids: Iterable[PydanticObjectId]) -> int:
    """Store the current `contact_terms` of these contacts where they changed (after a raw update of a name);
    returns how many changed. One read and one bulk write."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return 0
    collection = Contact.get_pymongo_collection()
    projection = dict.fromkeys((*SEARCHED_FIELDS, "search_terms"), 1)
    updates = []
    async for row in collection.find({"_id": {"$in": wanted}}, projection):
        terms = contact_terms(row)
        if row.get("search_terms") != terms:
            updates.append(UpdateOne({"_id": row["_id"]}, {"$set": {"search_terms": terms}}))
    if not updates:
        return 0
    return (await collection.bulk_write(updates, ordered=False)).modified_count

"""Completing contacts whose platform sent only an id: the platform's profile lookup fills a missing name or picture.

LINE webhooks carry a `userId` and nothing else (line.md a), so a person who writes first is a contact without
a name. The channel's profile call (`GET /v2/bot/profile/{userId}`, line.md d) fills what is missing; what a
person or an earlier delivery already set is never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from beanie import PydanticObjectId
from pymongo import UpdateOne

from scrm.connectors.base import Connector, Credentials
from scrm.connectors.errors import ConnectorError
from scrm.connectors.items import Sender
from scrm.models import Contact
from scrm.models.contact import refresh_contact_terms

log = logging.getLogger(__name__)


def looks_up_profiles(connector: Connector) -> bool:
    """Tell whether the connector has a profile lookup (its platform's deliveries carry only ids)."""
    return type(connector).fetch_profile is not Connector.fetch_profile


async def complete_profile(
    connector: Connector, http: httpx.AsyncClient, creds: Credentials, contact_id: PydanticObjectId, user_id: str
) -> bool:
    """Fill the contact's empty name and picture from the platform's profile of `user_id`; True when it changed.

    Costs one read when the contact already has both, and a platform call only when something is missing. A
    failed lookup (the person blocked the account, a passing outage) changes nothing and is tried again later.
    """
    if not looks_up_profiles(connector):
        return False
    missing = {"_id": contact_id, "$or": [{"name": ""}, {"avatar_url": ""}]}
    if await Contact.get_pymongo_collection().find_one(missing, {"_id": 1}) is None:
        return False
    try:
        profile = await connector.fetch_profile(http, creds, user_id)
    except ConnectorError as exc:
        log.info("No %s profile for contact %s: %s", connector.platform, contact_id, exc)
        return False
    except Exception as exc:  # a side job: whatever goes wrong here must not touch the send it follows
        log.warning("The %s profile of contact %s could not be read: %r", connector.platform, contact_id, exc)
        return False
    if profile is None:
        return False
    changed = False
    for field, value in (("name", profile.display_name or profile.username), ("avatar_url", profile.avatar_url)):
        if value:
            changed |= await _fill(contact_id, field, value)
    return changed


async def fill_from_senders(senders: Sequence[tuple[PydanticObjectId | None, Sender]]) -> None:
    """Fill empty names and pictures of contacts from profiles that items carried (a pulled follower list).

    One bulk of conditional updates: a contact that already has a name or a picture keeps it.
    """
    updates = [
        UpdateOne({"_id": contact_id, field: {"$in": ["", None]}}, {"$set": {field: value}})
        for contact_id, sender in senders
        if contact_id is not None
        for field, value in (("name", sender.display_name or sender.username), ("avatar_url", sender.avatar_url))
        if value
    ]
    if updates:
        await Contact.get_pymongo_collection().bulk_write(updates, ordered=False)
        await refresh_contact_terms(contact_id for contact_id, _ in senders if contact_id is not None)


async def _fill(contact_id: PydanticObjectId, field: str, value: Any) -> bool:
    result = await Contact.get_pymongo_collection().update_one(
        {"_id": contact_id, field: {"$in": ["", None]}}, {"$set": {field: value}}
    )
    if result.modified_count and field == "name":
        await refresh_contact_terms([contact_id])
    return result.modified_count > 0

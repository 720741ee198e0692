"""The profile two contacts make together, and how to take a merged profile apart again.

Pure functions over Contact documents, shared by the merge preview (which must show exactly what a merge
would store) and by merge and unmerge themselves.
"""

from __future__ import annotations

from typing import Any

from scrm.models import ConsentStatus, Contact

FILLED_FIELDS = ("name", "avatar_url", "email", "phone", "language", "timezone", "sentiment")
"""Fields the survivor keeps, unless empty there: then the merged contact's value fills them."""
CHANGEABLE_FIELDS = (*FILLED_FIELDS, "tags", "attributes", "consent", "blocked", "last_seen_at")
"""Every survivor field a merge may change besides its identities (which unmerge restores by key)."""
_STRICTNESS = {ConsentStatus.UNKNOWN: 0, ConsentStatus.GRANTED: 1, ConsentStatus.DENIED: 2}


def combined(survivor: Contact, merged: Contact) -> Contact:
    """The survivor as a merge with `merged` would leave it (a new object; neither argument changes).

    Identities are the union; name, avatar, email, phone, language, timezone and sentiment are the survivor's
    unless empty; tags are the union (survivor's first); attributes are merged with the survivor winning;
    consent is the stricter of the two (denied beats granted beats unknown; a tie keeps the survivor's);
    blocked if either is; last seen is the later of the two.
    """
    result: Contact = survivor.model_copy(deep=True)
    for name in FILLED_FIELDS:
        if getattr(result, name) in (None, ""):
            setattr(result, name, getattr(merged, name))
    known = {identity.key for identity in result.identities}
    result.identities += [i.model_copy() for i in merged.identities if i.key not in known]
    result.tags += [tag for tag in merged.tags if tag not in result.tags]
    result.attributes = {**merged.attributes, **survivor.attributes}
    if _STRICTNESS[merged.consent.status] > _STRICTNESS[survivor.consent.status]:
        result.consent = merged.consent.model_copy()
    result.blocked = survivor.blocked or merged.blocked
    seen = [at for at in (survivor.last_seen_at, merged.last_seen_at) if at is not None]
    result.last_seen_at = max(seen) if seen else None
    return result


def changed_fields(before: Contact, after: Contact) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields (besides identities) that differ between two states of a contact: (old values, new values)."""
    old = before.model_dump(include=set(CHANGEABLE_FIELDS))
    new = after.model_dump(include=set(CHANGEABLE_FIELDS))
    names = [name for name in CHANGEABLE_FIELDS if old[name] != new[name]]
    return {name: old[name] for name in names}, {name: new[name] for name in names}


def restored_fields(current: Contact, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The values that undo a merge's changes to the survivor, leaving alone whatever changed since the merge.

    A field still holding the value the merge gave it goes back to its old value. Otherwise tags keep every
    tag except those the merge added, and attributes go back key by key where a key still holds the merged
    value; any other field edited since the merge keeps its new value.
    """
    now = current.model_dump(include=set(after))
    restored: dict[str, Any] = {}
    for name, merged_value in after.items():
        if now[name] == merged_value:
            restored[name] = before[name]
        elif name == "tags":
            added = set(merged_value) - set(before[name])
            restored[name] = [tag for tag in now[name] if tag not in added]
        elif name == "attributes":
            restored[name] = _restored_attributes(now[name], before[name], merged_value)
    return restored


def _restored_attributes(now: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    result = dict(now)
    for key, merged_value in after.items():
        if before.get(key) == merged_value or result.get(key) != merged_value:
            continue
        if key in before:
            result[key] = before[key]
        else:
            result.pop(key)
    return result

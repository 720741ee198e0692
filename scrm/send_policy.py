"""Whether the contact may receive a message now: blocks, marketing consent, quiet hours and frequency caps.

Marketing (journeys, campaigns) waits for the contact's morning and stops at a daily cap; an inbox reply
answers a person who wrote, so only a block stops it. The values are workspace-wide constants for now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrm.models import ConsentStatus
from scrm.outbox import MARKETING_SOURCES

QUIET_HOURS_START = time(21, 0)
QUIET_HOURS_END = time(9, 0)
"""Marketing is held from 21:00 to 09:00 in the contact's timezone (UTC when it is unknown)."""
MARKETING_CAP = 3
MARKETING_CAP_PERIOD = timedelta(hours=24)
"""At most MARKETING_CAP marketing messages per contact in any MARKETING_CAP_PERIOD; more are cancelled."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the checks need to know about the contact: block, consent, timezone, identities."""

    blocked: bool
    consent: str
    timezone: str | None
    identities: tuple[tuple[str, str, str], ...]
    """(platform, external id, channel id or "") of each identity."""

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> Recipient:
        """Read the fields the checks need from a raw contact document."""
        identities = tuple(
            (str(i.get("platform", "")), str(i.get("external_id", "")), str(i.get("channel_id") or ""))
            for i in raw.get("identities", [])
        )
        consent = (raw.get("consent") or {}).get("status", ConsentStatus.UNKNOWN.value)
        return cls(bool(raw.get("blocked")), str(consent), raw.get("timezone"), identities)

    def identity_on(self, platform: str, channel_id: str) -> str | None:
        """The contact's id on `platform`, preferring the identity seen on this very channel."""
        found = [(channel == channel_id, external) for known, external, channel in self.identities if known == platform]
        return max(found)[1] if found else None


def is_marketing(source: str) -> bool:
    """Tell whether messages from `source` are marketing (consent, quiet hours and caps apply)."""
    return source in MARKETING_SOURCES


def refusal(recipient: Recipient, source: str) -> str | None:
    """Say why the contact must not get this message at all (it is then cancelled), or None."""
    if recipient.blocked:
        return "the contact is blocked"
    if is_marketing(source) and recipient.consent == ConsentStatus.DENIED.value:
        return "the contact has withdrawn marketing consent"
    return None


def quiet_until(recipient: Recipient, source: str, now: datetime) -> datetime | None:
    """When quiet hours end for a marketing message held now, or None when it may go out now."""
    if not is_marketing(source):
        return None
    zone = _zone(recipient.timezone)
    local = now.astimezone(zone)
    if QUIET_HOURS_END <= local.time() < QUIET_HOURS_START:
        return None
    day = local.date() if local.time() < QUIET_HOURS_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_HOURS_END, tzinfo=zone)


def over_cap(sent_recently: int) -> str | None:
    """Say why one more marketing message would break the frequency cap, or None when it fits."""
    if sent_recently < MARKETING_CAP:
        return None
    hours = int(MARKETING_CAP_PERIOD.total_seconds() // 3600)
    return f"frequency cap: the contact already got {sent_recently} marketing messages in {hours} hours"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")

"""The inbox's filters as they travel in the page's query string: read leniently, written back for links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from beanie import PydanticObjectId

from scrm.inbox.conversations import ASSIGNEE_CHOICES, SORTS, InboxFilter
from scrm.inbox.search import MAX_QUERY_LENGTH
from scrm.inbox.sla import SLA_FILTERS
from scrm.models import ConversationStatus

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other")
LANGUAGES = ("en", "zh", "other")
STATUS_TABS = ("open", "pending", "snoozed", "resolved", "all")
DEFAULT_STATUS = "open"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list's filters as the page shows them (plain strings, `""` for no choice)."""

    status: str = DEFAULT_STATUS
    channel: str = ""
    team: str = ""
    assignee: str = "anyone"
    label: str = ""
    sentiment: str = ""
    intent: str = ""
    language: str = ""
    unread: bool = False
    blocked: bool = False
    sla: str = ""
    q: str = ""
    """Words to search for in the messages (`scrm.inbox.search`), cut to the longest search allowed."""
    sort: str = "recent"
    """`recent` (latest activity first) or `waiting` (longest waiting for an answer first)."""

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ListQuery:
        """The filters in a query string; a value the inbox does not know falls back to no filter."""

        def pick(name: str, allowed: tuple[str, ...], default: str = "") -> str:
            """The parameter's value when the inbox knows it, else `default`."""
            value = str(params.get(name) or "")
            return value if value in allowed else default

        channel = str(params.get("channel") or "")
        team = str(params.get("team") or "")
        return cls(
            status=pick("status", STATUS_TABS, DEFAULT_STATUS),
            channel=channel if PydanticObjectId.is_valid(channel) else "",
            team=team if PydanticObjectId.is_valid(team) else "",
            assignee=pick("assignee", ASSIGNEE_CHOICES, "anyone"),
            label=str(params.get("label") or "")[:40],
            sentiment=pick("sentiment", SENTIMENTS),
            intent=pick("intent", INTENTS),
            language=pick("language", LANGUAGES),
            unread=str(params.get("unread") or "") in ("1", "on", "true"),
            blocked=str(params.get("blocked") or "") in ("1", "on", "true"),
            sla=pick("sla", SLA_FILTERS),
            q=str(params.get("q") or "").strip()[:MAX_QUERY_LENGTH],
            sort=pick("sort", SORTS, "recent"),
        )

    def to_filter(self) -> InboxFilter:
        """The service's filter for these choices."""
        return InboxFilter(
            channel_id=PydanticObjectId(self.channel) if self.channel else None,
            team_id=PydanticObjectId(self.team) if self.team else None,
            status=None if self.status == "all" else ConversationStatus(self.status),
            assignee=self.assignee,
            label=self.label or None,
            sentiment=self.sentiment or None,
            intent=self.intent or None,
            language=self.language or None,
            unread=self.unread,
            blocked=self.blocked,
            sla=self.sla or None,
            q=self.q or None,
            sort=self.sort,
        )

    def query_string(self, **changes: str) -> str:
        """These filters (with `changes`) as a query string, leaving out the defaults."""
        values = {
            "status": self.status,
            "channel": self.channel,
            "team": self.team,
            "assignee": self.assignee,
            "label": self.label,
            "sentiment": self.sentiment,
            "intent": self.intent,
            "language": self.language,
            "unread": "1" if self.unread else "",
            "blocked": "1" if self.blocked else "",
            "sla": self.sla,
            "q": self.q,
            "sort": self.sort,
        } | changes
        defaults = {"status": DEFAULT_STATUS, "assignee": "anyone", "sort": "recent"}
        kept = {k: v for k, v in values.items() if v and defaults.get(k) != v}
        return urlencode(kept)

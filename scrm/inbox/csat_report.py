"""The CSAT report: average rating, count per rating, response rate, and the answers a page at a time.

Surveys are counted by when they were asked (`created_at`); skipped ones (the channel could not send) are
counted apart and never lower the response rate. One `$group` over the workspace's surveys in range serves
the figures (indexed on workspace and time), one indexed page query the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.models import CsatSurvey, SurveyStatus

RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class CsatFilter:
    """Which surveys count: one channel or all, asked in [since, until) (either end open)."""

    channel_id: PydanticObjectId | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self, principal: Principal) -> dict[str, Any]:
        """The MongoDB filter of these surveys in the principal's workspace."""
        found: dict[str, Any] = {"workspace_id": principal.workspace_id}
        if self.channel_id is not None:
            found["channel_id"] = self.channel_id
        if self.since is not None or self.until is not None:
            asked: dict[str, datetime] = {}
            if self.since is not None:
                asked["$gte"] = self.since
            if self.until is not None:
                asked["$lt"] = self.until
            found["created_at"] = asked
        return found


@dataclass(frozen=True, slots=True)
class CsatFigures:
    """Surveys sent (answered or not), skipped, answered; the average rating and the count of each rating."""

    sent: int = 0
    skipped: int = 0
    answered: int = 0
    average: float | None = None
    per_rating: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))

    @property
    def response_rate(self) -> float | None:
        """Answered surveys over surveys sent; None before any was sent."""
        return round(self.answered / self.sent, 4) if self.sent else None


async def csat_figures(principal: Principal, wanted: CsatFilter) -> CsatFigures:
    """The figures of the surveys `wanted` selects in the principal's workspace."""
    pipeline: list[dict[str, Any]] = [
        {"$match": wanted.query(principal)},
        {"$group": {"_id": {"status": "$status", "rating": "$rating"}, "n": {"$sum": 1}}},
    ]
    counts: dict[tuple[str, int | None], int] = {}
    async for row in await CsatSurvey.get_pymongo_collection().aggregate(pipeline):
        counts[(row["_id"]["status"], row["_id"].get("rating"))] = int(row["n"])
    per_rating = dict.fromkeys(RATINGS, 0)
    for (status, rating), n in counts.items():
        if status == SurveyStatus.ANSWERED.value and rating in per_rating:
            per_rating[rating] += n
    answered = sum(per_rating.values())
    sent = answered + sum(n for (status, _), n in counts.items() if status == SurveyStatus.SENT.value)
    skipped = sum(n for (status, _), n in counts.items() if status == SurveyStatus.SKIPPED.value)
    average = round(sum(r * n for r, n in per_rating.items()) / answered, 2) if answered else None
    return CsatFigures(sent, skipped, answered, average, per_rating)


async def csat_answers(
    principal: Principal, wanted: CsatFilter, after: PydanticObjectId | None, limit: int
) -> list[CsatSurvey]:
    """Answered surveys, newest first, after the cursor; one more than `limit` when there is a next page."""
    query = wanted.query(principal) | {"status": SurveyStatus.ANSWERED.value}
    if after is not None:
        query["_id"] = {"$lt": after}
    return await principal.scope.find(CsatSurvey, query).sort("-_id").limit(limit + 1).to_list()

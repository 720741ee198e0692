"""LINE pull streams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from scrm.connectors.errors import RequestIgnored
from scrm.connectors.http import RestStream
from scrm.connectors.items import InboundFollow
from scrm.connectors.line.payloads import PLATFORM, sender_from_profile
from scrm.connectors.paginators import BodyCursor


class Followers(RestStream[InboundFollow]):
    """Everyone who follows the LINE Official Account, with their profiles.

    line.md d: ``GET /v2/bot/followers/ids?start=<continuation>&limit=<≤1000>`` answers ``{"userIds", "next"}``;
    then ``GET /v2/bot/profile/{userId}`` per follower. The list has no order to resume from, so each pull
    walks it all and ingest absorbs the repeats. LINE gives no follow time, so ``at`` is when we pulled.
    """

    name = "followers"
    path = "/v2/bot/followers/ids"
    records = "userIds"
    paginator = BodyCursor(path="next", param="start")
    params: ClassVar[Mapping[str, str | int]] = {"limit": 1000}

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Fetch each follower's profile; one who left or blocked since the list was read is skipped (404)."""
        profiles: list[Any] = []
        for user_id in records:
            try:
                response = await self.api.call("GET", f"/v2/bot/profile/{user_id}")
            except RequestIgnored:
                continue
            profiles.append(response.json())
        return profiles

    def parse(self, raw: Any) -> InboundFollow:
        """Turn a profile into a standing follow, one id per follower so repeated pulls store it once."""
        sender = sender_from_profile(raw)
        external_id = f"follower:{sender.platform_user_id}"
        return InboundFollow(PLATFORM, external_id, sender, self.api.clock.now(), raw=raw)

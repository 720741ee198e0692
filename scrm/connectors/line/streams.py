"""LINE pull streams."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import httpx

from scrm.connectors.errors import AuthRejected, RequestIgnored, RequestRejected
from scrm.connectors.http import RestStream
from scrm.connectors.items import InboundFollow
from scrm.connectors.line.payloads import PLATFORM, sender_from_profile
from scrm.connectors.paginators import BodyCursor, PageRequest

log = logging.getLogger(__name__)


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

    async def _fetch(self, request: PageRequest) -> httpx.Response:
        """Read one page of ids; an account the list is not open to ends the stream instead of failing the channel.

        The follower-id list is only for verified or premium accounts: others get 403 "Access to this API is not
        available for your account" (Messaging API reference, "Get a list of users who added your LINE Official
        Account as a friend"). Messaging still works, so this is no channel problem: the pull simply has no list.
        """
        try:
            return await super()._fetch(request)
        except RequestRejected as exc:
            if exc.status != HTTPStatus.FORBIDDEN or isinstance(exc, AuthRejected) or "start" in request.params:
                raise
            log.info("line: the follower list is for verified or premium accounts only (%s)", exc)
            raise RequestIgnored(str(exc), status=exc.status, code=exc.code) from exc

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

"""WeChat Official Account pull streams."""

from __future__ import annotations

from typing import Any

from scrm.connectors.http import RestStream
from scrm.connectors.items import InboundFollow
from scrm.connectors.paginators import BodyCursor
from scrm.connectors.wechat.payloads import follow_from_user_info

PROFILE_BATCH = 100  # user/info/batchget takes at most 100 openids per call


class Followers(RestStream[InboundFollow]):
    """Every current follower with its profile: ``user/get`` pages of openids, then ``user/info/batchget``.

    wechat.md d: up to 10000 openids per page; pass the previous ``next_openid``; empty means done.
    The list has no order to resume from, so each pull walks it all; ingest absorbs the repeats.
    """

    name = "followers"
    path = "/user/get"
    records = "data.openid"
    paginator = BodyCursor(path="next_openid", param="next_openid")

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Fetch the profiles of one page of openids, 100 at a time."""
        profiles: list[Any] = []
        for start in range(0, len(records), PROFILE_BATCH):
            batch = records[start : start + PROFILE_BATCH]
            user_list = [{"openid": openid, "lang": "zh_CN"} for openid in batch]
            response = await self.api.call("POST", "/user/info/batchget", json={"user_list": user_list})
            profiles.extend(response.json().get("user_info_list", []))
        return profiles

    def parse(self, raw: Any) -> InboundFollow | None:
        """Turn a profile into a follow; None if the person unfollowed between the two calls."""
        return follow_from_user_info(raw) if raw.get("subscribe") == 1 else None

"""What part of a workspace a principal may see: everything, or (for agents) their channels and teams."""

from __future__ import annotations

from typing import Any

from scrm.auth.roles import Principal
from scrm.models import Conversation


def channel_filter(principal: Principal) -> dict[str, Any]:
    """The channel filter for this principal: none, or only the channels an agent is a member of."""
    if not principal.is_limited:
        return {}
    return {"_id": {"$in": sorted(principal.channel_ids)}}


async def contact_filter(principal: Principal) -> dict[str, Any]:
    """The contact filter for this principal: none, or contacts with a conversation in an agent's channels or teams."""
    if not principal.is_limited:
        return {}
    in_reach = {
        "$or": [
            {"channel_id": {"$in": sorted(principal.channel_ids)}},
            {"team_id": {"$in": sorted(principal.team_ids)}},
        ]
    }
    conversations = await principal.scope.find(Conversation, in_reach).to_list()
    return {"_id": {"$in": sorted({c.contact_id for c in conversations})}}

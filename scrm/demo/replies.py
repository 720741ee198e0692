"""What happened in the demo after the messages came in: profiles filled in, conversations worked, replies sent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from scrm.channel_access import ChannelAccess
from scrm.demo.history import visitor_of
from scrm.demo.timeline import Timeline
from scrm.demo.traffic import platform_user_id
from scrm.inbox.sla import note_first_response
from scrm.inbox.threads import Touch, touch_conversations
from scrm.inbox.waiting import recompute_waiting
from scrm.models import Contact, Conversation, ConversationStatus, Direction, Message, identity_key

PROFILE_FIELDS = ("name", "language", "timezone", "tags", "email", "phone")


async def settle_profiles(data: Mapping[str, Any], channels: Mapping[str, ChannelAccess], now: datetime) -> None:
    """Give each demo contact the details a team would have added, and each conversation its status."""
    homes = _home_channels(data)
    for spec in data["contacts"]:
        contact = await _find_contact(spec, channels[homes[spec["key"]]])
        if contact is not None:
            fields = {name: spec[name] for name in PROFILE_FIELDS if spec.get(name) is not None}
            await Contact.get_pymongo_collection().update_one({"_id": contact["_id"]}, {"$set": fields})
    for conversation in data["conversations"]:
        if conversation["status"] == ConversationStatus.RESOLVED.value:
            continue  # resolved by an agent through the inbox (`resolutions`), which ends its SLA cycle
        found = await find_conversation(data, conversation, channels)
        if found is not None:
            await Conversation.get_pymongo_collection().update_one(
                {"_id": found["_id"]}, {"$set": {"status": conversation["status"]}}
            )


async def record_replies(data: Mapping[str, Any], channels: Mapping[str, ChannelAccess], timeline: Timeline) -> int:
    """Our earlier replies in the demo conversations, as delivered outbound messages; returns how many are new.

    A reply is the team's first response of its conversation's SLA cycle, as when the outbox accepts one.
    """
    created, now = 0, timeline.now
    for index, conversation in enumerate(data["conversations"]):
        found = await find_conversation(data, conversation, channels)
        if found is None:
            continue
        for turn, message in enumerate(conversation["messages"]):
            if not message["in"]:
                at = timeline.at(message)
                created += await _reply(found, f"demo-reply-{index}-{turn}", message["text"], at, now)
    return created


async def _reply(conversation: dict[str, Any], external_id: str, text: str, at: datetime, now: datetime) -> int:
    document = Message(
        workspace_id=conversation["workspace_id"],
        channel_id=conversation["channel_id"],
        conversation_id=conversation["_id"],
        contact_id=conversation["contact_id"],
        platform=conversation["platform"],
        external_id=external_id,
        direction=Direction.OUTBOUND,
        text=text,
        sent_at=at,
        delivery_status="read",
        handled_at=now,
        created_at=now,
    ).model_dump(by_alias=True, exclude={"id"})
    document["_id"] = ObjectId()
    try:
        await Message.get_pymongo_collection().insert_one(document)
    except DuplicateKeyError:
        return 0
    await touch_conversations({conversation["_id"]: Touch(at, text[:140], inbound=False, unread=0)})
    await note_first_response(conversation["workspace_id"], conversation["_id"], at)
    await recompute_waiting(conversation["_id"])  # the contact's later messages were recorded before this reply
    return 1


async def find_conversation(
    data: Mapping[str, Any], conversation: Mapping[str, Any], channels: Mapping[str, ChannelAccess]
) -> dict[str, Any] | None:
    spec = next(c for c in data["contacts"] if c["key"] == conversation["contact"])
    channel = channels[conversation["channel"]]
    contact = await _find_contact(spec, channel)
    if contact is None:
        return None
    query = {"channel_id": channel.channel_id, "contact_id": contact["_id"]}
    found: dict[str, Any] | None = await Conversation.get_pymongo_collection().find_one(query)
    return found


async def _find_contact(spec: Mapping[str, Any], channel: ChannelAccess) -> dict[str, Any] | None:
    key = identity_key(channel.platform, platform_user_id(channel.platform, visitor_of(spec)))
    found: dict[str, Any] | None = await Contact.get_pymongo_collection().find_one(
        {"workspace_id": channel.workspace_id, "identities.key": key}
    )
    return found


def _home_channels(data: Mapping[str, Any]) -> dict[str, str]:
    """The channel each demo contact is known on: where they talk, else where they comment."""
    homes = {c["contact"]: c["channel"] for c in data["conversations"]}
    for post in data["posts"]:
        for comment in post["comments"]:
            homes.setdefault(comment["contact"], post["channel"])
    return homes

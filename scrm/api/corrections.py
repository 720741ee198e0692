"""`PUT /api/v1/messages/{id}/tags`: correct the sentiment or intent the tagger gave a message."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from scrm.api.messages import reachable_messages
from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission, Principal
from scrm.models import Message
from scrm.tag_corrections import correct_tags

Sentiment = Literal["negative", "neutral", "positive"]
Intent = Literal["purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other"]


class TagsIn(msgspec.Struct, forbid_unknown_fields=True):
    """The labels a person sets; fields left out keep the tagger's."""

    sentiment: Sentiment | None = None
    intent: Intent | None = None


class TagsOut(msgspec.Struct):
    """The message's tags after the correction; `corrected` keeps what the model had said."""

    message_id: str
    tags: dict[str, Any]


async def _visible_message(principal: Principal, message_id: str) -> Message:
    """A message the principal may see (an agent: of their channels and teams); 404 otherwise."""
    return await principal.scope.get(Message, parse_id(message_id, "message"), await reachable_messages(principal))


class TagCorrectionsController(Controller):
    """Corrections of the NLP tags, which feed the next training run."""

    path = "/messages"
    tags = ("messages",)

    @put("/{message_id:str}/tags", guards=[requires(Permission.WORK_INBOX)], summary="Correct a message's tags")
    async def correct(self, principal: Caller, now: Now, message_id: FromPath[str], data: JSONBody[TagsIn]) -> TagsOut:
        """Set the sentiment and/or intent by hand; the contact's rolling sentiment follows."""
        labels = {task: value for task, value in msgspec.structs.asdict(data).items() if value is not None}
        if not labels:
            raise ValidationException("Give `sentiment`, `intent` or both")
        message = await _visible_message(principal, message_id)
        corrected = await correct_tags(principal.scope, message, labels, principal.actor, now)
        return TagsOut(message_id=str(corrected.id), tags=corrected.tags or {})

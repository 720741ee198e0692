"""People correct the tagger: a message's sentiment or intent set by hand, kept as training data.

The correction replaces the label on the message (so filters, journeys and segments use it at once), keeps
the model's guess under `tags.corrected`, recomputes the contact's rolling sentiment, and is exported as
JSON Lines for `scrm nlp train --with-corrections`. A fixed fifth of them, chosen by a hash of the text (so a
correction never changes sides as more come in, and the same text is always on the same side), is held out
of that export: `scrm nlp evaluate` on it tells whether a retrained model learnt what people corrected.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.contacts.sentiment import recompute_sentiment
from scrm.inbox.actions import get_conversation
from scrm.inbox.latest_tags import rebuild_latest_tags
from scrm.models import Message, NotInWorkspace, TagCorrection, WorkspaceScope

TASKS = ("sentiment", "intent")
SHARES = ("train", "held-out", "all")
HELD_OUT_SHARE = 0.2
# the folding `scrm nlp train --with-corrections` matches texts by (scrm.nlp.training._text_key), repeated here
# so the web app need not load spaCy: texts training takes for one are always on the same side
_NOT_WORD = re.compile(r"[\W_]+")


async def correct_tags(
    scope: WorkspaceScope,
    message: Message,
    labels: dict[str, str],
    corrected_by: str,
    now: datetime,
) -> Message:
    """Set the given labels (`{"sentiment": "negative"}`…) on a message of the scope and record the corrections."""
    assert message.id is not None
    tags: dict[str, Any] = dict(message.tags or {})
    corrected: dict[str, str] = dict(tags.get("corrected", {}))
    for task, label in labels.items():
        predicted = corrected.get(task, str(tags.get(task, "")))
        await _record(scope, message, task, predicted, label, corrected_by, now, str(tags.get("model_version", "")))
        corrected[task] = predicted
        tags[task] = label
    tags["corrected"] = corrected
    await Message.get_pymongo_collection().update_one({"_id": message.id}, {"$set": {"tags": tags}})
    message.tags = tags
    if "sentiment" in labels:
        await recompute_sentiment(message.contact_id)
    await rebuild_latest_tags([message.conversation_id])
    return message


async def correct_in_conversation(
    principal: Principal,
    conversation_id: PydanticObjectId,
    message_id: str,
    labels: dict[str, str],
    now: datetime,
) -> Message:
    """Correct a message of a conversation the principal may see, recording only the labels that change.

    A message of another conversation, or of one the principal may not see, is not found (NotInWorkspace).
    """
    conversation = await get_conversation(principal, conversation_id)
    if not PydanticObjectId.is_valid(message_id):
        raise NotInWorkspace(f"No message {message_id} in this conversation")
    message = await principal.scope.get(Message, PydanticObjectId(message_id), {"conversation_id": conversation.id})
    current = message.tags or {}
    changed = {task: label for task, label in labels.items() if label and label != current.get(task)}
    if not changed:
        return message
    return await correct_tags(principal.scope, message, changed, principal.actor, now)


def is_held_out(text: str) -> bool:
    """Whether a corrected text belongs to the held-out share: a stable hash of it, case and punctuation folded."""
    digest = hashlib.blake2b(_NOT_WORD.sub("", text.lower()).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < HELD_OUT_SHARE * 2**64


async def iter_corrections(
    task: str, workspace_id: PydanticObjectId | None = None, share: str = "all"
) -> AsyncIterator[dict[str, str]]:
    """The corrections of `task` in a share (`train`, `held-out` or `all`) as examples `{"text", "label"}`, oldest
    first."""
    if share not in SHARES:
        raise ValueError(f"Unknown share {share!r}; use one of {', '.join(SHARES)}")
    query: dict[str, Any] = {"task": task}
    if workspace_id is not None:
        query["workspace_id"] = workspace_id
    async for row in TagCorrection.get_pymongo_collection().find(query, {"text": 1, "label": 1}).sort("corrected_at"):
        if share == "all" or is_held_out(row["text"]) == (share == "held-out"):
            yield {"text": row["text"], "label": row["label"]}


async def _record(
    scope: WorkspaceScope,
    message: Message,
    task: str,
    predicted: str,
    label: str,
    corrected_by: str,
    now: datetime,
    model_version: str,
) -> None:
    """One correction per (message, task): a second one replaces the first."""
    fields = {
        "workspace_id": scope.workspace_id,
        "created_at": now,
        "text": message.text,
        "predicted": predicted,
        "label": label,
        "corrected_by": corrected_by,
        "corrected_at": now,
        "model_version": model_version,
    }
    await TagCorrection.get_pymongo_collection().update_one(
        {"message_id": message.id, "task": task, "workspace_id": scope.workspace_id}, {"$set": fields}, upsert=True
    )

"""What the tagger says about one text: language, sentiment, intent and lead-capture entities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("en", "zh", "other")
SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other")
ENTITY_KINDS = ("phone", "email", "wechat", "order_number", "url", "money")


@dataclass(frozen=True)
class Entity:
    """A span of the text worth capturing on a lead, with its normalised value."""

    kind: str
    text: str
    start: int
    end: int
    value: str

    def to_dict(self) -> dict[str, Any]:
        """Return the entity as plain JSON data."""
        return {"kind": self.kind, "text": self.text, "start": self.start, "end": self.end, "value": self.value}


@dataclass(frozen=True)
class Tags:
    """Language, sentiment, intent and entities of one text, with the model version that made them."""

    language: str
    language_scores: Mapping[str, float]
    sentiment: str
    sentiment_scores: Mapping[str, float]
    intent: str
    intent_scores: Mapping[str, float]
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    model_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the tags as plain JSON data, ready to store on a document."""
        return {
            "language": self.language,
            "language_scores": dict(self.language_scores),
            "sentiment": self.sentiment,
            "sentiment_scores": dict(self.sentiment_scores),
            "intent": self.intent,
            "intent_scores": dict(self.intent_scores),
            "entities": [entity.to_dict() for entity in self.entities],
            "model_version": self.model_version,
        }

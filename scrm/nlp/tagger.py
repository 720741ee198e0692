"""Tag batches of social-media texts with language, sentiment, intent and lead-capture entities."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from spacy.language import Language

from scrm.nlp.classifier import make_doc, read_scores
from scrm.nlp.emoji_reading import emoji_scores
from scrm.nlp.entities import extract_entities
from scrm.nlp.language import best_language, language_scores
from scrm.nlp.pipelines import get_classifier, load_pipeline
from scrm.nlp.tags import Entity, Tags

SHIPPED_MODELS = Path(__file__).resolve().parent / "models"
PIPELINE_LANGUAGES = ("en", "zh")
CONTACT_KINDS = frozenset({"phone", "email", "wechat"})
CONTACT_LEAD_BOOST = 0.5


def _best(scores: dict[str, float]) -> str:
    """Return the label with the highest score."""
    return max(scores, key=lambda label: scores[label])


def _with_contact_evidence(intents: dict[str, float], entities: tuple[Entity, ...]) -> dict[str, float]:
    """Raise the lead score when the text shares contact details, unless it reads as spam."""
    if "lead" not in intents or not any(e.kind in CONTACT_KINDS for e in entities):
        return intents
    if intents.get("spam", 0.0) >= 0.5:
        return intents
    boosted = {label: p + (CONTACT_LEAD_BOOST if label == "lead" else 0.0) for label, p in intents.items()}
    total = sum(boosted.values())
    return {label: p / total for label, p in boosted.items()}


def _certain(scores: dict[str, float], label: str) -> dict[str, float]:
    """All the probability on one label, when the model has that label."""
    return {name: float(name == label) for name in scores} if label in scores else scores


def _without_words(text: str, feelings: dict[str, float], intents: dict[str, float]) -> tuple[dict[str, float], ...]:
    """Sentiment and intent for texts the models have nothing to read in: blank, or emoji only."""
    if not text.strip():
        return _certain(feelings, "neutral"), _certain(intents, "other")
    reading = emoji_scores(text)
    if reading is not None and reading.keys() == feelings.keys():
        return reading, intents
    return feelings, intents


class Tagger:
    """The shipped (or a given) English and Chinese pipelines, ready to tag texts.

    Load it once per process with :meth:`load` and reuse it; :meth:`tag_many` is CPU-bound and
    synchronous, so async callers should run it with ``asyncio.to_thread``.
    """

    def __init__(self, pipelines: dict[str, Language], version: str) -> None:
        self.pipelines = pipelines
        self.version = version

    @classmethod
    def load(cls, model_dir: Path | None = None) -> Tagger:
        """Return the tagger for a models folder (default: the shipped models), loading it only once."""
        return _load_tagger((model_dir or SHIPPED_MODELS).resolve())

    def tag(self, text: str) -> Tags:
        """Tag one text."""
        return self.tag_many([text])[0]

    def tag_many(self, texts: Sequence[str]) -> list[Tags]:
        """Tag texts in order; each goes through the English or Chinese pipeline by its language."""
        languages = [language_scores(text) for text in texts]
        detected = [best_language(scores) for scores in languages]
        routes = ["zh" if language == "zh" else "en" for language in detected]
        results: list[Tags | None] = [None] * len(texts)
        for route, nlp in self.pipelines.items():
            positions = [i for i, chosen in enumerate(routes) if chosen == route]
            sentiments = get_classifier(nlp, "sentiment").labels_of("sentiment")
            intent_labels = get_classifier(nlp, "intent").labels_of("intent")
            docs = nlp.pipe((make_doc(nlp, texts[i]) for i in positions), batch_size=512, n_process=1)
            for position, doc in zip(positions, docs, strict=True):
                entities = extract_entities(texts[position])
                feelings, intents = _without_words(
                    texts[position],
                    read_scores(doc, "sentiment", sentiments),
                    _with_contact_evidence(read_scores(doc, "intent", intent_labels), entities),
                )
                results[position] = Tags(
                    language=detected[position],
                    language_scores=languages[position],
                    sentiment=_best(feelings),
                    sentiment_scores=feelings,
                    intent=_best(intents),
                    intent_scores=intents,
                    entities=entities,
                    model_version=self.version,
                )
        return [tags for tags in results if tags is not None]


@functools.lru_cache(maxsize=4)
def _load_tagger(model_dir: Path) -> Tagger:
    """Load the English and Chinese pipelines of a models folder."""
    pipelines = {language: load_pipeline(model_dir / language) for language in PIPELINE_LANGUAGES}
    version = pipelines["en"].meta.get("version", "0")
    return Tagger(pipelines, f"scrm-nlp-{version}")

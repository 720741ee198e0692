"""Turn texts into class probabilities for a task, from the shipped models or a trained pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from spacy.language import Language

from scrm.nlp.classifier import make_doc, read_scores
from scrm.nlp.language import language_scores
from scrm.nlp.pipelines import get_classifier, load_pipeline, pipeline_tasks
from scrm.nlp.tagger import Tagger

Scorer = Callable[[Sequence[str]], list[dict[str, float]]]
TAGGER_TASKS = ("sentiment", "intent")


def score_languages(texts: Sequence[str]) -> list[dict[str, float]]:
    """Return language probabilities (en, zh, other) for each text."""
    return [language_scores(text) for text in texts]


def _tagger_scorer(task: str, tagger: Tagger) -> Scorer:
    """Score with the English/Chinese pipelines of a tagger, each text routed by its language."""
    if task not in TAGGER_TASKS:
        raise KeyError(f"the shipped models know {', '.join(TAGGER_TASKS)} and language, not {task!r}")

    def score(texts: Sequence[str]) -> list[dict[str, float]]:
        """Tag the texts and keep the task's scores."""
        tags = tagger.tag_many(texts)
        return [dict(t.sentiment_scores if task == "sentiment" else t.intent_scores) for t in tags]

    return score


def _pipeline_scorer(task: str, nlp: Language) -> Scorer:
    """Score with one saved pipeline: its model for the task, or its only model."""
    tasks = pipeline_tasks(nlp)
    if task not in tasks and len(tasks) == 1:
        task = tasks[0]
    labels = get_classifier(nlp, task).labels_of(task)

    def score(texts: Sequence[str]) -> list[dict[str, float]]:
        """Run the pipeline over the texts and read the task's scores."""
        docs = nlp.pipe((make_doc(nlp, text) for text in texts), batch_size=512, n_process=1)
        return [read_scores(doc, task, labels) for doc in docs]

    return score


def load_scorer(task: str, model: Path | None = None) -> Scorer:
    """Return a scorer for a task from a models folder (``en``/``zh`` inside), a pipeline, or the shipped models."""
    if task == "language":
        return score_languages
    if model is not None and (model / "config.cfg").is_file():
        return _pipeline_scorer(task, load_pipeline(model))
    return _tagger_scorer(task, Tagger.load(model))


def best_label(scores: dict[str, float]) -> str:
    """Return the most probable label."""
    return max(scores, key=lambda label: scores[label])

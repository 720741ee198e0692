"""Create, save and load the spaCy pipelines that carry our classifiers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.language import Language

from scrm.nlp.classifier import FACTORY, LinearClassifier, register_factory
from scrm.nlp.features import FeatureSpec
from scrm.nlp.language import detect_language
from scrm.nlp.linear import LinearModel

CLASSIFIER = "classifier"
SPECS = {
    "en": FeatureSpec(char_min=2, char_max=5, word_max=2, bits=20, negation=True, lexicon=True),
    "zh": FeatureSpec(char_min=1, char_max=4, word_max=0, bits=20, negation=False),
}


def pipeline_language(texts: Sequence[str]) -> str:
    """Return ``zh`` when most texts are Chinese, else ``en`` (whose features suit any alphabet)."""
    chinese = sum(detect_language(text) == "zh" for text in texts)
    return "zh" if chinese * 2 > len(texts) else "en"


def new_pipeline(language: str) -> Language:
    """Return a blank spaCy pipeline (tokenizer only) for ``en`` or ``zh``."""
    register_factory()
    return spacy.blank(language)


def add_classifier(nlp: Language, task: str, model: LinearModel) -> LinearClassifier:
    """Add a task's trained model to the pipeline's classifier component (created when missing)."""
    if CLASSIFIER not in nlp.pipe_names:
        nlp.add_pipe(FACTORY, name=CLASSIFIER)
    component = nlp.get_pipe(CLASSIFIER)
    if not isinstance(component, LinearClassifier):
        raise TypeError(f"{CLASSIFIER} is a {type(component).__name__}")
    component.models[task] = model
    return component


def save_pipeline(nlp: Language, path: Path, name: str, version: str) -> None:
    """Write a pipeline to a folder, stamped with a name and version."""
    nlp.meta["name"] = name
    nlp.meta["version"] = version
    nlp.to_disk(path)


def load_pipeline(path: Path) -> Language:
    """Load a pipeline folder written by :func:`save_pipeline`."""
    register_factory()
    if not (path / "config.cfg").is_file():
        raise FileNotFoundError(f"{path}: not a saved pipeline (no config.cfg)")
    return spacy.load(path)


def find_classifier(nlp: Language, task: str) -> LinearClassifier | None:
    """Return the pipeline component that scores a task, or None if there is none."""
    for _, component in nlp.pipeline:
        if isinstance(component, LinearClassifier) and task in component.models:
            return component
    return None


def get_classifier(nlp: Language, task: str) -> LinearClassifier:
    """Return the pipeline component that scores a task; raise KeyError if there is none."""
    component = find_classifier(nlp, task)
    if component is None:
        raise KeyError(f"the pipeline has no {task!r} classifier (it has: {', '.join(pipeline_tasks(nlp))})")
    return component


def pipeline_tasks(nlp: Language) -> list[str]:
    """Return every task the pipeline's classifiers score."""
    return [task for _, c in nlp.pipeline if isinstance(c, LinearClassifier) for task in c.tasks]

"""The spaCy pipeline component that runs hashed n-gram linear models (one per task) over docs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import srsly
from spacy.language import Language
from spacy.tokens import Doc

from scrm.nlp.features import HashedNgrams, Hashing, bucketise, hash_ngrams
from scrm.nlp.linear import LinearModel

FACTORY = "scrm_linear_classifier"
TASKS_FILE = "tasks.json"
TEXT_KEY = "scrm_text"


def make_doc(nlp: Language, text: str) -> Doc:
    """Tokenise a text into a doc that remembers its text, which spares rebuilding it from tokens."""
    doc = nlp.make_doc(text)
    user_data: dict[Any, Any] = doc.user_data
    user_data[TEXT_KEY] = text
    return doc


def _text_of(doc: Doc) -> str:
    """Return a doc's text, from the copy kept by :func:`make_doc` when there is one."""
    user_data: dict[Any, Any] = doc.user_data
    text = user_data.get(TEXT_KEY)
    return text if isinstance(text, str) else doc.text


def scores_key(task: str) -> tuple[str, str]:
    """Return the ``Doc.user_data`` key under which a task's class probabilities are kept."""
    return ("scrm_scores", task)


def _batches(docs: Iterable[Doc], size: int) -> Iterator[list[Doc]]:
    """Group docs into lists of at most ``size``."""
    batch: list[Doc] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class LinearClassifier:
    """Give each doc class probabilities for some tasks (sentiment, intent, ...) from linear models.

    Models that read the same n-grams share one hashing pass per batch, whatever their size.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.models: dict[str, LinearModel] = {}

    @property
    def tasks(self) -> list[str]:
        """The tasks this component scores."""
        return list(self.models)

    def labels_of(self, task: str) -> list[str]:
        """Return a task's class names, in the order of its probability vectors."""
        return list(self.models[task].labels)

    def __call__(self, doc: Doc) -> Doc:
        """Score one doc."""
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 512) -> Iterator[Doc]:
        """Score docs a batch at a time, hashing each batch's n-grams once."""
        for batch in _batches(docs, batch_size):
            texts = [_text_of(doc) for doc in batch]
            hashed: dict[Hashing, HashedNgrams] = {}
            for task, model in self.models.items():
                spec = model.spec
                if spec.hashing not in hashed:
                    hashed[spec.hashing] = hash_ngrams(batch, spec, texts)
                probabilities = model.predict_proba(bucketise(hashed[spec.hashing], spec.bits))
                for doc, row in zip(batch, probabilities, strict=True):
                    user_data: dict[Any, Any] = doc.user_data
                    user_data[scores_key(task)] = row
            yield from batch

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        """Write each task's model into a subfolder of the component's folder."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / TASKS_FILE, self.tasks)
        for task, model in self.models.items():
            model.to_disk(path / task)

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> LinearClassifier:
        """Read the task models written by :meth:`to_disk`."""
        path = Path(path)
        self.models = {task: LinearModel.from_disk(path / task) for task in srsly.read_json(path / TASKS_FILE)}
        return self


def _make_linear_classifier(nlp: Language, name: str) -> LinearClassifier:
    """Build an empty classifier component (spaCy factory)."""
    return LinearClassifier(name)


def register_factory() -> None:
    """Make the component known to spaCy, so saved pipelines that use it can be loaded."""
    if not Language.has_factory(FACTORY):
        Language.factory(FACTORY, func=_make_linear_classifier)


def read_scores(doc: Doc, task: str, labels: list[str]) -> dict[str, float]:
    """Return a doc's class probabilities for a task as a label -> probability mapping."""
    user_data: dict[Any, Any] = doc.user_data
    row: npt.NDArray[np.float64] = user_data[scores_key(task)]
    return {label: float(p) for label, p in zip(labels, row, strict=True)}

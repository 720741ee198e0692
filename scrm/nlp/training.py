"""Train a text classifier for any task from labelled examples and wrap it in a spaCy pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from spacy.language import Language

from scrm.nlp.classifier import make_doc
from scrm.nlp.datasets import DataError, Example, split_dev
from scrm.nlp.features import FeatureSpec, SparseRows, featurise
from scrm.nlp.linear import LinearModel
from scrm.nlp.metrics import Report, score
from scrm.nlp.optimiser import Dataset, TrainSettings, class_weights, fit, naive_bayes_scale, rescale
from scrm.nlp.pipelines import SPECS, add_classifier, new_pipeline, pipeline_language

CORRECTION_WEIGHT = 5.0
_CHUNK = 2000
_PUNCTUATION = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class TrainOptions:
    """What to train and how: language and features are picked from the data when not given."""

    task: str
    settings: TrainSettings = field(default_factory=TrainSettings)
    language: str | None = None
    spec: FeatureSpec | None = None
    naive_bayes: bool = True


@dataclass(frozen=True)
class TrainResult:
    """A trained single-task pipeline and its report on the dev examples."""

    nlp: Language
    report: Report
    train_size: int
    dev_size: int


def featurise_texts(nlp: Language, texts: Sequence[str], spec: FeatureSpec) -> SparseRows:
    """Tokenise and featurise many texts in chunks, returning one block of rows."""
    parts = [
        featurise([make_doc(nlp, text) for text in texts[start : start + _CHUNK]], spec)
        for start in range(0, len(texts), _CHUNK)
    ]
    if not parts:
        return featurise([], spec)
    offsets = np.cumsum([0] + [int(part.indptr[-1]) for part in parts[:-1]])
    indptr = np.concatenate(
        [parts[0].indptr[:1]] + [part.indptr[1:] + offset for part, offset in zip(parts, offsets, strict=True)]
    )
    return SparseRows(indptr, np.concatenate([p.indices for p in parts]), np.concatenate([p.values for p in parts]))


def _text_key(text: str) -> str:
    """Fold case and punctuation so a correction matches the text it corrects."""
    return _PUNCTUATION.sub("", text.lower())


def with_corrections(
    train: Sequence[Example], corrections: Sequence[Example], weight: float = CORRECTION_WEIGHT
) -> list[Example]:
    """Add people's corrections to training data: they replace examples of the same text and weigh more."""
    corrected = {_text_key(example.text) for example in corrections}
    kept = [example for example in train if _text_key(example.text) not in corrected]
    return kept + [Example(example.text, example.label, weight) for example in corrections]


class TrainingProgress:
    """A progress bar over all epochs' examples that shows the latest dev score."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.bar = progress.add_task("training", total=total)

    def advance(self, examples: int) -> None:
        """Move the bar on by a batch."""
        self.progress.advance(self.bar, examples)

    def epoch_done(self, epoch: int, dev_score: float) -> None:
        """Show the dev score reached after an epoch."""
        self.progress.update(self.bar, description=f"epoch {epoch}: dev macro-F1 {100 * dev_score:.1f}")


@contextmanager
def training_progress(console: Console | None, total: int) -> Iterator[TrainingProgress]:
    """Show a progress bar on the console while training (nothing when no console is given)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=console is None) as progress:
        yield TrainingProgress(progress, total)


def _dataset(rows: SparseRows, examples: Sequence[Example], labels: list[str], balance: float) -> Dataset:
    """Attach class numbers and per-example weights (example weight times class weight) to rows."""
    index = {label: position for position, label in enumerate(labels)}
    targets = np.array([index[example.label] for example in examples], dtype=np.int64)
    weights = np.array([example.weight for example in examples], dtype=np.float32)
    return Dataset(rows, targets, weights * class_weights(targets, len(labels), balance)[targets])


def predict_labels(model: LinearModel, rows: SparseRows) -> list[str]:
    """Return the most probable label of each row."""
    return [model.labels[i] for i in model.predict_proba(rows).argmax(axis=1)]


def train_task(
    train: Sequence[Example], dev: Sequence[Example] | None, options: TrainOptions, console: Console | None = None
) -> TrainResult:
    """Fit a classifier, early-stopped on dev macro-F1; dev is carved from train (fixed seed) if absent."""
    if dev is None:
        train, dev = split_dev(train)
    labels = sorted({example.label for example in train})
    if len(labels) < 2:
        raise DataError(f"training needs at least two labels, found {labels}")
    language = options.language or pipeline_language([example.text for example in train])
    spec = options.spec or SPECS[language]
    nlp = new_pipeline(language)
    data = _dataset(featurise_texts(nlp, [e.text for e in train], spec), train, labels, options.settings.balance)
    dev_rows = featurise_texts(nlp, [e.text for e in dev], spec)
    scale = (
        naive_bayes_scale(data, len(labels), spec.buckets) if options.naive_bayes else np.ones(spec.buckets, np.float32)
    )
    data = Dataset(rescale(data.rows, scale), data.targets, data.weights)
    scaled_dev, gold = rescale(dev_rows, scale), [example.label for example in dev]

    def dev_score(model: LinearModel) -> float:
        """Macro-F1 of a model on the (scaled) dev rows."""
        return score(gold, predict_labels(model, scaled_dev), labels).macro_f1 if gold else 0.0

    settings = options.settings
    with training_progress(console, len(train) * settings.max_epochs) as progress:
        model = fit(labels, spec, data, dev_score, settings, progress.advance, progress.epoch_done)
    model.weights *= scale[:, None]
    trained = new_pipeline(language)  # fresh, so the saved vocabulary holds none of the training texts
    add_classifier(trained, options.task, model)
    report = score(gold, predict_labels(model, dev_rows), labels)
    return TrainResult(trained, report, len(train), len(dev))

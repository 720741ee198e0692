"""Train a text classifier for any task from labelled examples and wrap it in a spaCy pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from spacy.language import Language

from scrm.nlp.classifier import make_doc
from scrm.nlp.datasets import DataError, Example, split_dev, without_held_out
from scrm.nlp.features import FeatureSpec, SparseRows, featurise
from scrm.nlp.linear import LinearModel
from scrm.nlp.metrics import Report, score
from scrm.nlp.optimiser import Dataset, TrainSettings, class_weights, fit, naive_bayes_scale, rescale
from scrm.nlp.pipelines import SPECS, add_classifier, new_pipeline, pipeline_language

CORRECTION_WEIGHT = 5.0
AUXILIARY_WEIGHT = 0.5
_CHUNK = 2000
_PUNCTUATION = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Auxiliary:
    """Labelled texts from a related corpus, whose own model is added to the task's model with a weight.

    The auxiliary model is trained first, on its own (early-stopped on a 10 % split of its own
    texts, so the task's dev set does not choose it). Its scores, times ``weight``, are then added
    to the task model's logits while that model is fitted, so the task's data has the last word,
    and the two weight matrices are summed (the auxiliary one into the columns of the labels they
    share): one matrix, no cost at inference. Its labels must be among the task's labels (a
    positive/negative review corpus can help a three-way sentiment task). Texts that nearly copy
    a dev text are left out.
    """

    examples: Sequence[Example]
    weight: float = AUXILIARY_WEIGHT
    name: str = "auxiliary"


@dataclass(frozen=True)
class TrainOptions:
    """What to train and how: language and features are picked from the data when not given."""

    task: str
    settings: TrainSettings = field(default_factory=TrainSettings)
    language: str | None = None
    spec: FeatureSpec | None = None
    naive_bayes: bool = True
    naive_bayes_power: float = 1.0
    auxiliary: tuple[Auxiliary, ...] = ()


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


@dataclass(frozen=True)
class _Split:
    """Examples with their (unscaled) feature rows and, optionally, fixed logit offsets."""

    examples: Sequence[Example]
    rows: SparseRows
    offsets: npt.NDArray[np.float64] | None = None


def _fit_scaled(
    train: _Split, dev: _Split, labels: list[str], spec: FeatureSpec, options: TrainOptions, console: Console | None
) -> LinearModel:
    """Fit a model on (NB-scaled) features, early-stopped on dev macro-F1; return it with the scale folded in."""
    data = _dataset(train.rows, train.examples, labels, options.settings.balance)
    scale = (
        naive_bayes_scale(data, len(labels), spec.buckets, power=options.naive_bayes_power)
        if options.naive_bayes
        else np.ones(spec.buckets, np.float32)
    )
    data = Dataset(rescale(data.rows, scale), data.targets, data.weights, train.offsets)
    scaled_dev = rescale(dev.rows, scale)
    gold = [example.label for example in dev.examples]

    def dev_score(model: LinearModel) -> float:
        """Macro-F1 of a model on the (scaled) dev rows, offsets included."""
        logits = model.logits(scaled_dev)
        if dev.offsets is not None:
            logits += dev.offsets
        return score(gold, [labels[i] for i in logits.argmax(axis=1)], labels).macro_f1 if gold else 0.0

    settings = options.settings
    with training_progress(console, len(train.examples) * settings.max_epochs) as progress:
        model = fit(labels, spec, data, dev_score, settings, progress.advance, progress.epoch_done)
    model.weights *= scale[:, None]
    return model


def fit_auxiliary(
    auxiliary: Auxiliary,
    labels: list[str],
    nlp: Language,
    dev: Sequence[Example],
    spec: FeatureSpec,
    options: TrainOptions,
    console: Console | None = None,
) -> LinearModel:
    """Train the model of an auxiliary corpus and return it padded to the task's labels, times its weight.

    The model is early-stopped on a 10 % split of the corpus's own texts (never on the task's dev
    set); texts that nearly copy a dev text are left out.
    """
    examples = without_held_out(auxiliary.examples, dev)
    aux_labels = sorted({example.label for example in examples})
    unknown = sorted(set(aux_labels) - set(labels))
    if unknown:
        raise DataError(f"{auxiliary.name}: labels {unknown} are not among the task's labels {labels}")
    if len(aux_labels) < 2:
        raise DataError(f"{auxiliary.name}: an auxiliary corpus needs at least two labels, found {aux_labels}")
    aux_train, aux_dev = split_dev(examples)
    splits = [_Split(part, featurise_texts(nlp, [e.text for e in part], spec)) for part in (aux_train, aux_dev)]
    aux = _fit_scaled(splits[0], splits[1], aux_labels, spec, options, console)
    padded = LinearModel.zeros(labels, spec)
    columns = [labels.index(label) for label in aux_labels]
    padded.weights[:, columns] = auxiliary.weight * aux.weights
    padded.bias[columns] = auxiliary.weight * aux.bias
    return padded


def train_task(
    train: Sequence[Example], dev: Sequence[Example] | None, options: TrainOptions, console: Console | None = None
) -> TrainResult:
    """Fit a classifier, early-stopped on dev macro-F1; dev is carved from train (fixed seed) if absent.

    With ``options.auxiliary``, each auxiliary corpus's model is trained first; the task's model is
    then fitted on top of their (weighted) scores and all are summed into one weight matrix (see
    :class:`Auxiliary`).
    """
    if dev is None:
        train, dev = split_dev(train)
    labels = sorted({example.label for example in train})
    if len(labels) < 2:
        raise DataError(f"training needs at least two labels, found {labels}")
    language = options.language or pipeline_language([example.text for example in train])
    spec = options.spec or SPECS[language]
    nlp = new_pipeline(language)
    train_rows = featurise_texts(nlp, [e.text for e in train], spec)
    dev_rows = featurise_texts(nlp, [e.text for e in dev], spec)
    prior = LinearModel.zeros(labels, spec)
    for auxiliary in options.auxiliary:
        added = fit_auxiliary(auxiliary, labels, nlp, dev, spec, options, console)
        prior.weights += added.weights
        prior.bias += added.bias
    offsets = (prior.logits(train_rows), prior.logits(dev_rows)) if options.auxiliary else (None, None)
    model = _fit_scaled(
        _Split(train, train_rows, offsets[0]), _Split(dev, dev_rows, offsets[1]), labels, spec, options, console
    )
    model.weights += prior.weights
    model.bias += prior.bias
    gold = [example.label for example in dev]
    trained = new_pipeline(language)  # fresh, so the saved vocabulary holds none of the training texts
    add_classifier(trained, options.task, model)
    report = score(gold, predict_labels(model, dev_rows), labels)
    return TrainResult(trained, report, len(train), len(dev))

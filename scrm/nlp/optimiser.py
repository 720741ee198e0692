"""Fit a :class:`LinearModel` by mini-batch AdaGrad on the softmax loss, with early stopping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scrm.nlp.features import FeatureSpec, SparseRows
from scrm.nlp.linear import LinearModel, softmax

EpochHook = Callable[[int, float], None]


@dataclass(frozen=True)
class TrainSettings:
    """Knobs of one training run; the defaults suit a few hundred to a hundred thousand texts."""

    max_epochs: int = 12
    patience: int = 2
    batch_size: int = 64
    learning_rate: float = 0.2
    l2: float = 1e-6
    balance: float = 0.5
    average: bool = False
    seed: int = 13


@dataclass(frozen=True)
class Dataset:
    """Featurised texts with their class numbers, per-example weights and optional fixed logit offsets.

    ``offsets`` (one row of class scores per example, e.g. another model's scores) are added to
    the model's logits during training, so the model learns what they leave to explain.
    """

    rows: SparseRows
    targets: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float32]
    offsets: npt.NDArray[np.float64] | None = None


def class_weights(targets: npt.NDArray[np.int64], n_classes: int, balance: float) -> npt.NDArray[np.float32]:
    """Weight classes by (mean count / count) ** balance so rare classes are not drowned out."""
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    counts[counts == 0] = 1.0
    weights: npt.NDArray[np.float32] = ((counts.mean() / counts) ** balance).astype(np.float32)
    return weights


class AdaGrad:
    """Sparse AdaGrad updates that touch only the weight rows seen in a batch."""

    def __init__(self, model: LinearModel, settings: TrainSettings) -> None:
        self.model = model
        self.settings = settings
        self.squares = np.full(model.weights.shape, 1e-8, dtype=np.float32)
        self.bias_squares = np.full(model.bias.shape, 1e-8, dtype=np.float32)

    def step(
        self,
        batch: SparseRows,
        targets: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float32],
        offsets: npt.NDArray[np.float64] | None = None,
    ) -> float:
        """Take one gradient step on a batch (logits plus ``offsets`` when given); return its mean loss."""
        logits = self.model.logits(batch)
        probs = softmax(logits if offsets is None else logits + offsets)
        picked = probs[np.arange(len(targets)), targets]
        gradient = probs
        gradient[np.arange(len(targets)), targets] -= 1.0
        gradient *= (weights / weights.sum())[:, None]
        per_value = gradient[batch.row_ids()] * batch.values[:, None]
        touched, inverse = np.unique(batch.indices.astype(np.int64), return_inverse=True)
        summed = np.zeros((len(touched), per_value.shape[1]), dtype=np.float64)
        np.add.at(summed, inverse, per_value)
        summed += self.settings.l2 * self.model.weights[touched]
        self._apply(touched, summed.astype(np.float32), gradient.sum(axis=0).astype(np.float32))
        return float(-(np.log(np.maximum(picked, 1e-12)) * weights).sum() / weights.sum())

    def _apply(
        self,
        touched: npt.NDArray[np.int64],
        grad: npt.NDArray[np.float32],
        bias_grad: npt.NDArray[np.float32],
    ) -> None:
        """Scale each gradient by the root of its accumulated squares and move the weights."""
        rate = self.settings.learning_rate
        self.squares[touched] += grad * grad
        self.model.weights[touched] -= rate * grad / np.sqrt(self.squares[touched])
        self.bias_squares += bias_grad * bias_grad
        self.model.bias -= rate * bias_grad / np.sqrt(self.bias_squares)


def run_epoch(optimiser: AdaGrad, data: Dataset, rng: np.random.Generator, on_batch: Callable[[int], None]) -> float:
    """Visit every training example once in a seeded random order; return the mean batch loss."""
    order = rng.permutation(len(data.targets))
    size = optimiser.settings.batch_size
    losses = []
    for start in range(0, len(order), size):
        chosen = order[start : start + size]
        offsets = None if data.offsets is None else data.offsets[chosen]
        losses.append(optimiser.step(data.rows.take(chosen), data.targets[chosen], data.weights[chosen], offsets))
        on_batch(len(chosen))
    return float(np.mean(losses)) if losses else 0.0


def naive_bayes_scale(
    data: Dataset, n_classes: int, buckets: int, smoothing: float = 1.0, power: float = 1.0
) -> npt.NDArray[np.float32]:
    """Return a per-feature scale: how strongly each feature's presence separates the classes.

    This is the log-count ratio of NB-SVM, generalised to several classes as the largest absolute
    deviation of a feature's smoothed log class frequency from its mean over classes, divided by
    its mean over the features seen. Scaling features by it before fitting the linear model lets
    rare but telling n-grams weigh more; ``power`` below 1 softens the scale (0 turns it off).
    """
    seen, compact = np.unique(data.rows.indices, return_inverse=True)
    classes = data.targets[data.rows.row_ids()]

    def log_frequency(label: int) -> npt.NDArray[np.float64]:
        """Smoothed log frequency of each seen feature among one class's examples."""
        counts = np.bincount(compact[classes == label], minlength=len(seen)) + smoothing
        return np.log(counts / counts.sum())  # type: ignore[no-any-return]

    mean = sum((log_frequency(label) for label in range(n_classes)), np.zeros(len(seen))) / n_classes
    spread = np.zeros(len(seen))
    for label in range(n_classes):
        np.maximum(spread, np.abs(log_frequency(label) - mean), out=spread)
    scale = np.ones(buckets, dtype=np.float32)
    if len(seen):
        scale[seen] = (spread / max(float(spread.mean()), 1e-9)) ** power
    return scale


def rescale(rows: SparseRows, scale: npt.NDArray[np.float32]) -> SparseRows:
    """Multiply every feature value by its feature's scale."""
    return SparseRows(rows.indptr, rows.indices, rows.values * scale[rows.indices])


def fit(
    labels: list[str],
    spec: FeatureSpec,
    train: Dataset,
    score_dev: Callable[[LinearModel], float],
    settings: TrainSettings,
    on_batch: Callable[[int], None] = lambda _: None,
    on_epoch: EpochHook = lambda _epoch, _score: None,
) -> LinearModel:
    """Train until the dev score stops improving for ``patience`` epochs; return the best model.

    With ``settings.average`` the model scored (and returned) after each epoch is the running
    mean of the weights at the end of every epoch so far, which smooths out the last steps' noise.
    """
    model = LinearModel.zeros(labels, spec)
    optimiser = AdaGrad(model, settings)
    rng = np.random.default_rng(settings.seed)
    mean = LinearModel.zeros(labels, spec)
    best_score, best = -1.0, (mean.weights.copy(), mean.bias.copy())
    stale = 0
    for epoch in range(1, settings.max_epochs + 1):
        run_epoch(optimiser, train, rng, on_batch)
        if settings.average:
            mean.weights += (model.weights - mean.weights) / epoch
            mean.bias += (model.bias - mean.bias) / epoch
        candidate = mean if settings.average else model
        score = score_dev(candidate)
        on_epoch(epoch, score)
        if score > best_score:
            best_score, best, stale = score, (candidate.weights.copy(), candidate.bias.copy()), 0
        else:
            stale += 1
            if stale >= settings.patience:
                break
    model.weights, model.bias = best
    return model

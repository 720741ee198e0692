"""A multinomial linear classifier over hashed features, stored as one small numpy file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from scrm.nlp.features import FeatureSpec, SparseRows

WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "model.json"


def softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Turn rows of logits into rows of probabilities that sum to 1."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


@dataclass
class LinearModel:
    """Class scores as a weighted sum of hashed n-gram features plus a bias per class."""

    labels: list[str]
    spec: FeatureSpec
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]

    @classmethod
    def zeros(cls, labels: list[str], spec: FeatureSpec) -> LinearModel:
        """Create an untrained model that gives every class the same score."""
        weights = np.zeros((spec.buckets, len(labels)), dtype=np.float32)
        return cls(labels, spec, weights, np.zeros(len(labels), dtype=np.float32))

    def logits(self, rows: SparseRows) -> npt.NDArray[np.float64]:
        """Return one row of unnormalised class scores per feature row."""
        logits = np.zeros((len(rows), len(self.labels)), dtype=np.float64)
        if len(rows.values) == 0:
            return logits + self.bias
        contributions = self.weights[rows.indices] * rows.values[:, None]
        starts = np.minimum(rows.indptr[:-1], len(rows.values) - 1)
        sums = np.add.reduceat(contributions, starts, axis=0)
        filled = rows.indptr[1:] > rows.indptr[:-1]
        logits[filled] = sums[filled]
        return logits + self.bias

    def predict_proba(self, rows: SparseRows) -> npt.NDArray[np.float64]:
        """Return one row of class probabilities per feature row."""
        return softmax(self.logits(rows))

    def to_disk(self, path: Path) -> None:
        """Write the weights (half precision, compressed) and the label list into a folder."""
        path.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"labels": self.labels, "features": self.spec.to_dict()}
        (path / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        np.savez_compressed(path / WEIGHTS_FILE, weights=self.weights.astype(np.float16), bias=self.bias)

    @classmethod
    def from_disk(cls, path: Path) -> LinearModel:
        """Read a model written by :meth:`to_disk`."""
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        with np.load(path / WEIGHTS_FILE) as arrays:
            weights = arrays["weights"].astype(np.float32)
            bias = arrays["bias"].astype(np.float32)
        return cls(list(config["labels"]), FeatureSpec(**config["features"]), weights, bias)

"""The token attributes of a batch of spaCy docs, read once and shared by the word and lexicon features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from spacy.attrs import IS_PUNCT, IS_UPPER, LOWER
from spacy.tokens import Doc


@dataclass(frozen=True)
class Tokens:
    """Every token of a batch, in order: lower-case string id, punctuation and capitals flags, and its doc."""

    words: npt.NDArray[np.uint64]
    punct: npt.NDArray[np.bool_]
    upper: npt.NDArray[np.bool_]
    rows: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    """Tokens per doc."""

    @classmethod
    def of(cls, docs: Sequence[Doc]) -> Tokens:
        """Read the tokens of a batch of docs (one `Doc.to_array` per doc)."""
        lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
        rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        if lengths.sum() == 0:
            return cls(np.zeros(0, np.uint64), np.zeros(0, bool), np.zeros(0, bool), rows, lengths)
        attrs = np.concatenate([doc.to_array([LOWER, IS_PUNCT, IS_UPPER]) for doc in docs if len(doc)])
        attrs = attrs.astype(np.uint64)
        return cls(attrs[:, 0], attrs[:, 1] > 0, attrs[:, 2] > 0, rows, lengths)

    def __len__(self) -> int:
        return len(self.words)

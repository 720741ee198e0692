"""Read labelled JSON Lines files, find the shared corpora and carve reproducible dev splits."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CORPORA_ENV = "SCRM_NLP_CORPORA"
DEV_SEED = 13
DEV_FRACTION = 0.1
_NON_WORD = re.compile(r"[\W_]+")


class DataError(ValueError):
    """A training or evaluation file is missing, empty or not in the expected shape."""


@dataclass(frozen=True)
class Example:
    """One labelled text, with how much it counts in training."""

    text: str
    label: str
    weight: float = 1.0


def corpora_root() -> Path:
    """Return the folder of the shared corpora (``$SCRM_NLP_CORPORA``, else ``../shared/nlp``)."""
    configured = os.environ.get(CORPORA_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "nlp"


def iter_examples(path: Path, weight: float = 1.0) -> Iterator[Example]:
    """Stream the ``{"text", "label"}`` records of a JSON Lines file, failing on the first bad line."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}: line {number} is not valid JSON ({error.msg})") from error
            if not isinstance(record, dict) or not isinstance(record.get("text"), str) or "label" not in record:
                raise DataError(f'{path}: line {number} needs a string "text" and a "label"')
            yield Example(record["text"], str(record["label"]), weight)


def get_examples(path: Path, weight: float = 1.0) -> list[Example]:
    """Read all examples of a JSON Lines file; raise :class:`DataError` if it holds none."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    examples = list(iter_examples(path, weight))
    if not examples:
        raise DataError(f"{path}: no labelled examples")
    return examples


def split_dev(
    examples: Sequence[Example], fraction: float = DEV_FRACTION, seed: int = DEV_SEED
) -> tuple[list[Example], list[Example]]:
    """Split examples into (train, dev), stratified by label, the same way on every run.

    Each label with at least two examples gives ``fraction`` of them (at least one) to dev.
    """
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = np.random.default_rng(seed)
    train: list[Example] = []
    dev: list[Example] = []
    for label in sorted(by_label):
        group = [by_label[label][i] for i in rng.permutation(len(by_label[label]))]
        count = max(1, round(len(group) * fraction)) if len(group) >= 2 else 0
        dev.extend(group[:count])
        train.extend(group[count:])
    return train, dev


def get_corpus_split(name: str, split: str, root: Path | None = None) -> list[Example]:
    """Return the train or dev examples of a shared corpus, carving dev from train when it has none."""
    folder = (root or corpora_root()) / name
    if (folder / f"{split}.jsonl").is_file() and split == "train" and not (folder / "dev.jsonl").is_file():
        return split_dev(get_examples(folder / "train.jsonl"))[0]
    if split == "dev" and not (folder / "dev.jsonl").is_file():
        return split_dev(get_examples(folder / "train.jsonl"))[1]
    return get_examples(folder / f"{split}.jsonl")


def near_key(text: str) -> str:
    """Fold a text to its first 30 letters and digits, to spot near-copies across corpora."""
    return _NON_WORD.sub("", text.lower())[:30]


def without_held_out(train: Sequence[Example], held_out: Sequence[Example]) -> list[Example]:
    """Drop training texts that (nearly) copy a held-out text, so dev figures stay honest."""
    keys = {near_key(example.text) for example in held_out}
    return [example for example in train if near_key(example.text) not in keys]

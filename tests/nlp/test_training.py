"""Training on a tiny data set works, is reproducible, and people's corrections change the next run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scrm.nlp.classifier import read_scores
from scrm.nlp.datasets import DataError, Example, get_examples, split_dev
from scrm.nlp.features import FeatureSpec
from scrm.nlp.optimiser import TrainSettings
from scrm.nlp.pipelines import get_classifier, load_pipeline, save_pipeline
from scrm.nlp.scoring import load_scorer
from scrm.nlp.training import TrainOptions, TrainResult, train_task, with_corrections

from .conftest import BILLING, DELIVERY

SMALL = FeatureSpec(char_min=2, char_max=4, word_max=2, bits=16)


def _train(examples: list[Example], seed: int = 13) -> TrainResult:
    options = TrainOptions(task="topic", settings=TrainSettings(seed=seed), spec=SMALL)
    return train_task(examples, None, options)


def _examples() -> list[Example]:
    return [Example(t, "billing") for t in BILLING] + [Example(t, "delivery") for t in DELIVERY]


def _predict(result: TrainResult, texts: list[str]) -> list[str]:
    labels = get_classifier(result.nlp, "topic").labels_of("topic")
    scores = [read_scores(doc, "topic", labels) for doc in result.nlp.pipe(texts)]
    return [max(s, key=lambda label: s[label]) for s in scores]


def test_tiny_model_learns_the_topics() -> None:
    result = _train(_examples())
    assert result.dev_size == 4
    assert result.train_size == 36
    predicted = _predict(result, ["they refunded the wrong payment", "courier lost my parcel"])
    assert predicted == ["billing", "delivery"]


def test_same_seed_gives_same_model_and_predictions() -> None:
    first, second = _train(_examples()), _train(_examples())
    one = get_classifier(first.nlp, "topic").models["topic"]
    two = get_classifier(second.nlp, "topic").models["topic"]
    assert np.array_equal(one.weights, two.weights)
    texts = ["refund my parcel", "invoice for shipping", "hello"]
    assert _predict(first, texts) == _predict(second, texts)


def test_dev_split_is_stratified_and_fixed() -> None:
    examples = _examples()
    train, dev = split_dev(examples)
    assert sorted(e.label for e in dev) == ["billing", "billing", "delivery", "delivery"]
    assert split_dev(examples) == (train, dev)
    assert not {e.text for e in dev} & {e.text for e in train}


def test_corrections_change_the_next_training_run() -> None:
    disputed = "courier charged me a fee at the door"
    before = _train(_examples())
    assert _predict(before, [disputed]) == ["delivery"]
    corrected = with_corrections(_examples(), [Example(disputed, "billing")])
    assert corrected[-1].weight > 1.0
    after = _train(corrected)
    assert _predict(after, [disputed]) == ["billing"]


def test_a_correction_replaces_a_training_example_of_the_same_text() -> None:
    corrected = with_corrections(_examples(), [Example("My parcel has not arrived yet!", "billing")])
    assert [e.label for e in corrected if "has not arrived yet" in e.text.lower()] == ["billing"]


def test_saved_pipeline_scores_the_same_after_loading(tmp_path: Path) -> None:
    result = _train(_examples())
    save_pipeline(result.nlp, tmp_path / "model", "scrm_topic", "test")
    loaded = load_pipeline(tmp_path / "model")
    texts = ["refund please", "where is my parcel"]
    scores = load_scorer("topic", tmp_path / "model")(texts)
    assert [max(s, key=lambda k: s[k]) for s in scores] == _predict(result, texts)
    assert loaded.meta["version"] == "test"


def test_one_label_is_refused() -> None:
    with pytest.raises(DataError, match="two labels"):
        _train([Example(t, "billing") for t in BILLING])


def test_bad_training_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "missing label"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        get_examples(path)

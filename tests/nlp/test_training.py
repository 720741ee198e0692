"""Training on a tiny data set works, is reproducible, and people's corrections change the next run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from scrm.nlp.classifier import read_scores
from scrm.nlp.datasets import DataError, Example, get_examples, split_dev
from scrm.nlp.features import FeatureSpec
from scrm.nlp.linear import LinearModel
from scrm.nlp.optimiser import Dataset, TrainSettings, naive_bayes_scale
from scrm.nlp.pipelines import get_classifier, load_pipeline, new_pipeline, save_pipeline
from scrm.nlp.scoring import load_scorer
from scrm.nlp.training import Auxiliary, TrainOptions, TrainResult, featurise_texts, train_task, with_corrections

from .conftest import BILLING, DELIVERY

SMALL = FeatureSpec(char_min=2, char_max=4, word_max=2, bits=16)


def _train(examples: list[Example], seed: int = 13, auxiliary: tuple[Auxiliary, ...] = ()) -> TrainResult:
    options = TrainOptions(task="topic", settings=TrainSettings(seed=seed), spec=SMALL, auxiliary=auxiliary)
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


def test_a_model_saved_before_lexicon_features_loads_without_them(tmp_path: Path) -> None:
    lexical = dataclasses.replace(SMALL, lexicon=True)
    options = TrainOptions(task="topic", settings=TrainSettings(seed=13), spec=lexical)
    component = get_classifier(train_task(_examples(), None, options).nlp, "topic")
    component.models["topic"].to_disk(tmp_path / "topic")
    assert LinearModel.from_disk(tmp_path / "topic").spec.lexicon is True
    config = json.loads((tmp_path / "topic" / "model.json").read_text(encoding="utf-8"))
    del config["features"]["lexicon"]  # as written by version 0.2.0
    (tmp_path / "topic" / "model.json").write_text(json.dumps(config), encoding="utf-8")
    assert LinearModel.from_disk(tmp_path / "topic").spec == SMALL


def test_one_label_is_refused() -> None:
    with pytest.raises(DataError, match="two labels"):
        _train([Example(t, "billing") for t in BILLING])


def test_bad_training_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "missing label"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        get_examples(path)


# An auxiliary corpus that knows words the task's own examples never use.
STOCK = [
    "vendor sent an invoice for stock",
    "supplier invoice for stock paid",
    "stock invoice overdue",
    "pay the stock bill",
]
FREIGHT = [
    "freight truck delayed at port",
    "freight lorry stuck at the port",
    "port freight late",
    "freight pallet lost",
]


def test_auxiliary_corpus_teaches_what_the_task_data_lacks() -> None:
    # nonce words, invented so that only the auxiliary corpus can say what they mean
    auxiliary = [Example(f"zorblax quimbo {t}", "delivery") for t in STOCK] + [
        Example(f"wumpet flarn {t}", "billing") for t in FREIGHT
    ]
    texts = ["zorblax quimbo", "wumpet flarn"]
    plain = _train(_examples())
    helped = _train(_examples(), auxiliary=(Auxiliary(auxiliary * 3, 1.0),))
    assert _predict(helped, texts) == ["delivery", "billing"]
    assert _predict(plain, texts) != _predict(helped, texts)


def test_auxiliary_model_is_folded_into_the_weights_by_its_weight() -> None:
    aux = [Example(t, "billing") for t in STOCK * 3] + [Example(t, "delivery") for t in FREIGHT * 3]
    plain = get_classifier(_train(_examples()).nlp, "topic").models["topic"]
    for weight, same in ((0.0, True), (0.3, False)):
        model = get_classifier(_train(_examples(), auxiliary=(Auxiliary(aux, weight),)).nlp, "topic").models["topic"]
        assert model.weights.shape == plain.weights.shape
        assert np.array_equal(model.weights, plain.weights) is same


def test_auxiliary_with_a_label_the_task_lacks_is_refused() -> None:
    aux = [Example(t, "billing") for t in STOCK] + [Example(t, "shipping") for t in FREIGHT]
    with pytest.raises(DataError, match="shipping"):
        _train(_examples(), auxiliary=(Auxiliary(aux, name="freight"),))


def test_auxiliary_texts_that_copy_dev_texts_are_left_out() -> None:
    train, dev = split_dev(_examples())
    copies = [Example(e.text + "!", "delivery" if e.label == "billing" else "billing", 50.0) for e in dev]
    aux = Auxiliary(copies + [Example(t, "billing") for t in STOCK] + [Example(t, "delivery") for t in FREIGHT], 1.0)
    options = TrainOptions(task="topic", spec=SMALL, auxiliary=(aux,))
    assert train_task(train, dev, options).report.accuracy == 1.0


def test_naive_bayes_power_softens_the_scale() -> None:
    examples = _examples()
    rows = featurise_texts(new_pipeline("en"), [e.text for e in examples], SMALL)
    targets = np.array([e.label == "delivery" for e in examples], dtype=np.int64)
    data = Dataset(rows, targets, np.ones(len(examples), dtype=np.float32))
    full = naive_bayes_scale(data, 2, SMALL.buckets)
    assert full.std() > 0
    assert np.allclose(naive_bayes_scale(data, 2, SMALL.buckets, power=0.5), np.sqrt(full), rtol=1e-5)
    assert np.array_equal(naive_bayes_scale(data, 2, SMALL.buckets, power=0.0), np.ones(SMALL.buckets))

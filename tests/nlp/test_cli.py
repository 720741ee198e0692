"""The ``nlp`` command-line contract: classify, train and evaluate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrm.nlp.commands import nlp

from .conftest import write_jsonl

LONG_TEXT = "这家店的服务真的很好，" * 400 + " and the delivery was super fast " * 200


def _classify(task: str, lines: list[str], *extra: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(nlp, ["classify", "--task", task, *extra], input="\n".join(lines) + "\n")
    outputs = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, outputs, result.stderr


def _records(texts: list[str]) -> list[str]:
    return [json.dumps({"id": f"m{i}", "text": text}, ensure_ascii=False) for i, text in enumerate(texts)]


TEXTS = [
    "I love this so much!! 😍",
    "",
    "快递太慢了，差评！",
    LONG_TEXT,
    "this 手机 is 太好了 lol",
    "加我微信: abc_123 谈合作",
    "🙂",
]


@pytest.mark.parametrize("task", ["sentiment", "intent", "language"])
def test_classify_keeps_order_and_ids_and_scores_sum_to_one(task: str) -> None:
    code, outputs, _ = _classify(task, _records(TEXTS))
    assert code == 0
    assert [o["id"] for o in outputs] == [f"m{i}" for i in range(len(TEXTS))]
    for output in outputs:
        scores = output["scores"]
        assert isinstance(scores, dict)
        assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-6)
        assert output["label"] == max(scores, key=lambda k: scores[k])


def test_classify_labels_come_from_the_task_taxonomy() -> None:
    _, sentiments, _ = _classify("sentiment", _records(TEXTS))
    _, intents, _ = _classify("intent", _records(TEXTS))
    _, languages, _ = _classify("language", _records(TEXTS))
    assert {o["label"] for o in sentiments} <= {"negative", "neutral", "positive"}
    assert {o["label"] for o in intents} <= {
        "purchase_inquiry", "pricing", "complaint", "support_request", "praise", "lead", "spam", "other",
    }  # fmt: skip
    assert [o["label"] for o in languages][:3] == ["en", "other", "zh"]


def test_classify_keeps_any_json_id_and_skips_blank_lines() -> None:
    lines = ['{"id": 7, "text": "great"}', "", '{"id": null, "text": "ok"}', '{"id": {"k": [1]}, "text": "好"}']
    code, outputs, _ = _classify("sentiment", lines)
    assert code == 0
    assert [o["id"] for o in outputs] == [7, None, {"k": [1]}]


def test_invalid_json_line_stops_with_an_error_naming_the_line() -> None:
    lines = [
        '{"id": 1, "text": "fine"}',
        "",
        '{"id": 2, "text": "also fine"}',
        '{"id": 3, "text": oops}',
        '{"id": 4, "text": "x"}',
    ]
    code, outputs, stderr = _classify("sentiment", lines)
    assert code == 2
    assert [o["id"] for o in outputs] == [1, 2]
    assert "line 4" in stderr
    assert "invalid JSON" in stderr


def test_line_without_text_is_an_error_naming_the_line() -> None:
    code, outputs, stderr = _classify("intent", ['{"id": 1, "text": "hi"}', '{"id": 2, "body": "hi"}'])
    assert code == 2
    assert len(outputs) == 1
    assert "line 2" in stderr


def test_train_then_classify_and_evaluate_with_the_trained_model(tiny_train: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "topic-model"
    trained = runner.invoke(nlp, ["train", "--task", "topic", "--data", str(tiny_train), "--out", str(out)])
    assert trained.exit_code == 0, trained.output
    assert "macro-F1" in trained.stdout
    assert (out / "config.cfg").is_file()
    code, outputs, _ = _classify(
        "intent", _records(["refund my invoice", "parcel lost by courier"]), "--model", str(out)
    )
    assert code == 0
    assert [o["label"] for o in outputs] == ["billing", "delivery"]
    dev = write_jsonl(tmp_path / "dev.jsonl", [{"text": "refund the payment", "label": "billing"}])
    evaluated = runner.invoke(nlp, ["evaluate", "--task", "topic", "--data", str(dev), "--model", str(out)])
    assert evaluated.exit_code == 0, evaluated.output
    assert "accuracy 100.00" in evaluated.stdout


def test_train_with_corrections_changes_the_model(tiny_train: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    disputed = "courier charged me a fee at the door"
    corrections = write_jsonl(tmp_path / "corrections.jsonl", [{"text": disputed, "label": "billing"}])
    labels = []
    for name, extra in (("plain", []), ("corrected", ["--with-corrections", str(corrections)])):
        out = tmp_path / name
        result = runner.invoke(nlp, ["train", "--task", "topic", "--data", str(tiny_train), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        _, outputs, _ = _classify("intent", _records([disputed]), "--model", str(out))
        labels.append(outputs[0]["label"])
    assert labels == ["delivery", "billing"]


def test_train_with_an_auxiliary_corpus(tiny_train: Path, tmp_path: Path) -> None:
    records = [{"text": f"freight truck late at port {i}", "label": "delivery"} for i in range(8)] + [
        {"text": f"vendor stock invoice overdue {i}", "label": "billing"} for i in range(8)
    ]
    auxiliary = write_jsonl(tmp_path / "auxiliary.jsonl", records)
    out = tmp_path / "model"
    args = ["train", "--task", "topic", "--data", str(tiny_train), "--out", str(out)]
    result = CliRunner().invoke(nlp, [*args, "--auxiliary", str(auxiliary), "--auxiliary-weight", "1"])
    assert result.exit_code == 0, result.output
    _, outputs, _ = _classify("intent", _records(["freight at the port", "stock invoice"]), "--model", str(out))
    assert [o["label"] for o in outputs] == ["delivery", "billing"]


def test_evaluate_shipped_sentiment_prints_the_report(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "dev.jsonl",
        [
            {"text": "I love it, best purchase ever 😍", "label": "positive"},
            {"text": "太差了，退货！", "label": "negative"},
        ],
    )
    result = CliRunner().invoke(nlp, ["evaluate", "--task", "sentiment", "--data", str(data)])
    assert result.exit_code == 0, result.output
    for heading in ("accuracy", "macro-F1", "precision", "recall", "gold"):
        assert heading in result.stdout


def test_train_reports_bad_data_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "label": "x"}\nnot json\n', encoding="utf-8")
    result = CliRunner().invoke(nlp, ["train", "--task", "t", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "line 2" in result.output


def test_classify_with_a_folder_that_holds_no_model_fails_cleanly(tmp_path: Path) -> None:
    code, outputs, stderr = _classify("sentiment", _records(["hi"]), "--model", str(tmp_path))
    assert code == 1
    assert outputs == []
    assert "not a saved pipeline" in stderr

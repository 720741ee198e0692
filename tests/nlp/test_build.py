"""The shipped-model build runs end to end on a small stand-in for the corpora and yields a working tagger."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrm.nlp import Tagger
from scrm.nlp.build import build_shipped
from scrm.nlp.datasets import CORPORA_ENV, Example, without_held_out

from .conftest import write_jsonl

EN_POSITIVE = ["love it so much", "great service thanks", "best day ever :)", "amazing quality wow"]
EN_NEGATIVE = ["hate this so much", "terrible service", "worst day ever :(", "awful quality ugh"]
EN_NEUTRAL = ["the store opens at 9", "meeting moved to monday", "new model announced today", "it is tuesday"]
ZH_POSITIVE = ["太好吃了", "质量很好", "非常满意", "服务很棒"]
ZH_NEGATIVE = ["太难吃了", "质量很差", "非常失望", "服务很差"]
ZH_NEUTRAL = ["今天周二", "会议改到周一", "新品发布了", "商店九点开门"]


def _labelled(**groups: list[str]) -> list[dict[str, object]]:
    return [
        {"text": f"{text} {i}", "label": label} for label, texts in groups.items() for i in range(15) for text in texts
    ]


def _write_corpora(root: Path) -> None:
    sentiment_en = _labelled(positive=EN_POSITIVE, negative=EN_NEGATIVE, neutral=EN_NEUTRAL)
    sentiment_zh = _labelled(positive=ZH_POSITIVE, negative=ZH_NEGATIVE, neutral=ZH_NEUTRAL)
    reviews_zh = _labelled(positive=ZH_POSITIVE, negative=ZH_NEGATIVE)
    sets: dict[str, list[dict[str, object]]] = {
        "tweeteval_sentiment": sentiment_en,
        "weibo_sent3": sentiment_zh,
        "chnsenticorp": reviews_zh,
        "waimai_10k": reviews_zh,
        "online_shopping_10cats": reviews_zh,
        "complaints": _labelled(complaint=EN_NEGATIVE, not_complaint=EN_NEUTRAL),
        "sms_spam": _labelled(spam=["WIN a prize now", "free cash click"], ham=EN_NEUTRAL),
        "banking77": _labelled(exchange_rate=["what is the rate"], card_arrival=["where is my card"]),
        "clinc150": _labelled(weather=["will it rain"], oos=["tell me a joke"]),
        "cais": _labelled(PlayMusic=["播放音乐"], GetWeather=["今天天气"]),
    }
    for name, records in sets.items():
        (root / name).mkdir(parents=True)
        write_jsonl(root / name / "train.jsonl", records)
        if name in {"tweeteval_sentiment", "weibo_sent3", "chnsenticorp", "clinc150", "cais"}:
            write_jsonl(root / name / "dev.jsonl", records[::4])


def test_build_writes_pipelines_the_tagger_can_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_corpora(tmp_path / "corpora")
    monkeypatch.setenv(CORPORA_ENV, str(tmp_path / "corpora"))
    build_shipped(tmp_path / "models")
    tagger = Tagger.load(tmp_path / "models")
    tags = tagger.tag_many(["great service thanks 1", "质量很差 2", "加我微信: abc_123 想合作"])
    assert [t.language for t in tags] == ["en", "zh", "zh"]
    assert tags[0].sentiment == "positive", tags[0].sentiment_scores
    assert tags[1].sentiment == "negative"
    assert tags[2].intent == "lead"
    assert tags[0].model_version == "scrm-nlp-0.3.1"


def test_near_copies_of_dev_texts_leave_the_training_data() -> None:
    dev_text = "Dark Souls 3 April Launch Date Confirmed With New Trailer"
    train = [Example(f"{dev_text}!!! https://t.co/V3rMmdpkPj", "neutral"), Example("Bad phone", "negative")]
    kept = without_held_out(train, [Example(dev_text, "neutral")])
    assert [e.text for e in kept] == ["Bad phone"]

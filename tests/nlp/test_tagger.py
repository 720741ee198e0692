"""The shipped tagger: sentiment, intent, language and entities together, stored as JSON."""

from __future__ import annotations

import json
import math

import pytest

from scrm.nlp import Tagger, Tags
from scrm.nlp.tags import INTENTS, SENTIMENTS


@pytest.mark.parametrize(
    "text",
    [
        "I absolutely love this phone, best purchase ever 😍",
        "Amazing service, thank you so much!!",
        "太好吃了！！下次还来😋",
        "质量很好，物超所值，强烈推荐",
    ],
)
def test_obviously_positive(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text).sentiment == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "This is the worst service ever, I hate it 😡",
        "Terrible quality, broke after one day. Never again.",
        "太差了，客服态度恶劣，再也不买了",
        "快递一个星期还没到，差评！",
    ],
)
def test_obviously_negative(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text).sentiment == "negative"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("想合作，加我微信: abc_123 详聊", "lead"),
        ("interested, call me at +1 415 555 2671", "lead"),
        ("CONGRATS you WON a free iPhone!!! click here to claim your prize", "spam"),
        ("how much is the pro plan?", "pricing"),
        ("这个多少钱？", "pricing"),
    ],
)
def test_clear_intents(tagger: Tagger, text: str, intent: str) -> None:
    assert tagger.tag(text).intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "order 88123412 hasn't arrived yet, can you check?",
        "ref 77120 - wrong size sent, need an exchange",
        "订单 3392018812 还没发货吗",
        "取件码 6621 打不开柜子",
        "工单号 20240117 一直没人回复",
    ],
)
def test_order_numbers_and_codes_are_not_leads(tagger: Tagger, text: str) -> None:
    tags = tagger.tag(text)
    assert tags.intent != "lead"
    assert tags.intent_scores["lead"] < 0.3


def test_tag_many_keeps_order_and_fills_every_field(tagger: Tagger) -> None:
    texts = ["太好了", "great stuff", "", "Je suis content", "手机 13812345678", "love it 真的很好用"]
    tags = tagger.tag_many(texts)
    assert [t.language for t in tags] == ["zh", "en", "other", "other", "zh", "zh"]
    for tag in tags:
        assert tag.sentiment in SENTIMENTS
        assert tag.intent in INTENTS
        for scores in (tag.sentiment_scores, tag.intent_scores, tag.language_scores):
            assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-6)
        assert tag.model_version.startswith("scrm-nlp-")
    assert [e.value for e in tags[4].entities] == ["+8613812345678"]


def test_tags_survive_a_json_round_trip(tagger: Tagger) -> None:
    tags = tagger.tag("订单号 2024052012345 还没到，电话 13812345678")
    stored = json.loads(json.dumps(tags.to_dict(), ensure_ascii=False))
    assert stored["intent"] == tags.intent
    assert [e["kind"] for e in stored["entities"]] == ["order_number", "phone"]
    assert isinstance(tags, Tags)


def test_load_is_cached_per_process() -> None:
    assert Tagger.load() is Tagger.load()


def test_tag_many_of_nothing_is_empty(tagger: Tagger) -> None:
    assert tagger.tag_many([]) == []

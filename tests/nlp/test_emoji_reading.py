"""Messages made only of emoji are read from the emoji polarity table; blank ones are neutral."""

from __future__ import annotations

import unicodedata

import pytest

from scrm.nlp import Tagger
from scrm.nlp.emoji_reading import POLARITIES, emoji_polarity, emoji_scores


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("😡", "negative"),
        ("😡😡 !!", "negative"),
        ("👎", "negative"),
        ("😭😭😭", "negative"),
        ("👍", "positive"),
        ("👍🏽", "positive"),  # a skin tone does not hide the thumb
        ("❤️", "positive"),  # nor does the variation selector
        ("🙏🙏", "positive"),
        ("🤔", "neutral"),
        ("😂😂😡", "positive"),
    ],
)
def test_emoji_only_texts_get_the_table_polarity(text: str, label: str) -> None:
    scores = emoji_scores(text)
    assert scores is not None
    assert max(scores, key=lambda name: scores[name]) == label
    assert sum(scores.values()) == pytest.approx(1.0)


def test_more_of_the_same_emoji_is_more_certain() -> None:
    one, three = emoji_scores("😡"), emoji_scores("😡😡😡")
    assert one is not None and three is not None
    assert one["negative"] == pytest.approx(0.6)
    assert three["negative"] > one["negative"]


@pytest.mark.parametrize(
    "text",
    [
        "ok 👍",  # words: the model reads it
        "差评😡",
        "1️⃣",  # a keycap digit
        "🇨🇳",  # no rated emoji
        "😂😭",  # a tie between praise and blame
        "",
        "   ",
        "!!!",
    ],
)
def test_texts_with_words_ties_and_unrated_symbols_are_left_to_the_model(text: str) -> None:
    assert emoji_scores(text) is None


def test_the_table_holds_single_emoji_with_known_polarities() -> None:
    table = emoji_polarity()
    assert len(table) > 150
    assert set(table.values()) == set(POLARITIES)
    for emoji in table:
        assert len(emoji) == 1 and unicodedata.category(emoji) == "So", emoji


@pytest.mark.parametrize(("text", "label"), [("😡😡", "negative"), ("👍", "positive"), ("🙏", "positive")])
def test_the_tagger_reads_emoji_only_messages_from_the_table(tagger: Tagger, text: str, label: str) -> None:
    tags = tagger.tag(text)
    assert tags.sentiment == label
    assert dict(tags.sentiment_scores) == emoji_scores(text)


def test_the_tagger_leaves_emoji_with_words_to_the_model(tagger: Tagger) -> None:
    tags = tagger.tag("this is the worst, I want a refund 👍")
    assert tags.sentiment == "negative"
    assert tags.sentiment_scores["negative"] > 0.6


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_blank_texts_are_neutral_and_of_no_intent(tagger: Tagger, text: str) -> None:
    tags = tagger.tag(text)
    assert (tags.language, tags.sentiment, tags.intent) == ("other", "neutral", "other")
    assert tags.sentiment_scores["neutral"] == 1.0
    assert tags.intent_scores["other"] == 1.0
    assert tags.entities == ()

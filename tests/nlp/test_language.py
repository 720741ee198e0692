"""Language detection on English, Chinese, mixed and other-language posts."""

from __future__ import annotations

import math

import pytest

from scrm.nlp.language import detect_language, language_scores


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I love this phone!!", "en"),
        ("my order #123 still not here wtf", "en"),
        ("lol", "en"),
        ("这个手机太好用了", "zh"),
        ("好", "zh"),
        ("我今天买了iPhone真的很好用", "zh"),
        ("this 手机 is 太好了 lol", "zh"),
        ("iPhone 15 Pro Max 256G 多少钱", "zh"),
        ("I bought it yesterday and it works great, 超喜欢 😍", "en"),
        ("Je suis très content de ce produit", "other"),
        ("Este producto es muy bueno para mi", "other"),
        ("Das ist nicht gut", "other"),
        ("日本語の勉強をしています", "other"),
        ("안녕하세요 반갑습니다", "other"),
        ("Привет, как дела?", "other"),
        ("", "other"),
        ("👍👍👍", "other"),
    ],
)
def test_detects_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["hello", "你好", "bonjour", "", "12345", "混合 mixed 文本"])
def test_scores_cover_three_languages_and_sum_to_one(text: str) -> None:
    scores = language_scores(text)
    assert set(scores) == {"en", "zh", "other"}
    assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-9)

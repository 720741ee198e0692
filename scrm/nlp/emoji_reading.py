"""Sentiment of messages made only of emoji, read from our own emoji polarity table.

Emoji-only messages ("😡", "👍👍", "❤️") are common in chats and comments but nearly absent from
the corpora the sentiment models learn from, so the models read them poorly (an angry face alone
came out neutral). For a message with no letters or digits, each emoji in
``data/emoji_sentiment.tsv`` (~180 common emoji rated negative, neutral or positive as read in a
message to a brand) casts a vote; the scores are the smoothed shares of the votes. Skin tones,
variation selectors and zero-width joiners are ignored, so "👍🏽" reads as "👍". A message whose
emoji are all unrated, or whose positive and negative votes tie, is left to the model.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache
from importlib import resources

POLARITIES = ("negative", "neutral", "positive")
SMOOTHING = 0.5  # added to each polarity's votes, so one emoji gives 0.6 and three give 0.78
_IGNORED = frozenset({"\u200d", "\ufe0e", "\ufe0f", "\u20e3"} | {chr(c) for c in range(0x1F3FB, 0x1F400)})


@lru_cache(maxsize=1)
def emoji_polarity() -> dict[str, str]:
    """Return the emoji polarity table: each rated emoji (one code point) to negative, neutral or positive."""
    table: dict[str, str] = {}
    text = resources.files("scrm.nlp").joinpath("data", "emoji_sentiment.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            emoji, polarity = line.split("\t")[:2]
            table[emoji] = polarity
    return table


def _emoji_only(text: str) -> list[str] | None:
    """Return the symbols of a text that has no letters, digits or marks; None when it has some or is blank."""
    symbols = []
    for char in text:
        if char in _IGNORED or char.isspace():
            continue
        category = unicodedata.category(char)
        if category[0] in "LNM":
            return None
        if category == "So":
            symbols.append(char)
    return symbols or None


def emoji_scores(text: str) -> dict[str, float] | None:
    """Return negative/neutral/positive scores for an emoji-only text, or None when the model should read it."""
    symbols = _emoji_only(text)
    if symbols is None:
        return None
    table = emoji_polarity()
    votes = Counter(table[symbol] for symbol in symbols if symbol in table)
    if not votes or 0 < votes["positive"] == votes["negative"]:
        return None
    total = sum(votes.values()) + SMOOTHING * len(POLARITIES)
    return {polarity: (votes[polarity] + SMOOTHING) / total for polarity in POLARITIES}

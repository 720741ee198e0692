"""Sentiment-lexicon features for English: VADER's valence scores, binned into feature tokens.

VADER (Hutto and Gilbert, ICWSM 2014; the ``vaderSentiment`` package, MIT licence) scores a
text from a hand-rated lexicon of ~7,500 words, emoticons and slang, with rules for negation,
intensifiers ("very", "sooo"), capitals, exclamation marks and "but". Alone it trails a trained
model on tweets, but as features it tells the model how words it rarely or never saw in training
feel. Each text gets three tokens: its compound score in 11 bins and its positive and negative
shares in 6 bins each; a linear model learns a weight per bin, so the mapping need not be linear.
"""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# each token counts as this many occurrences, so it stands out among a tweet's ~100 n-grams
TOKEN_COUNT = 3
COMPOUND_BINS = 10  # compound in [-1, 1] -> bins 0..10 (the top bin holds exactly 1.0)
SHARE_BINS = 5  # positive / negative share in [0, 1] -> bins 0..5


@lru_cache(maxsize=1)
def _analyser() -> SentimentIntensityAnalyzer:
    """Load VADER's lexicon once per process (a few milliseconds)."""
    return SentimentIntensityAnalyzer()


def valence_tokens(text: str) -> list[str]:
    """Return the lexicon tokens of one text, e.g. ``["vader:c7", "vader:p2", "vader:n0"]``."""
    scores = _analyser().polarity_scores(text)
    compound = int((scores["compound"] + 1) * COMPOUND_BINS / 2)
    return [
        f"vader:c{compound}",
        f"vader:p{int(scores['pos'] * SHARE_BINS)}",
        f"vader:n{int(scores['neg'] * SHARE_BINS)}",
    ]

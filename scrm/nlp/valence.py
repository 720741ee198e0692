"""VADER-style valence of a batch of English docs, computed with numpy (see `scrm.nlp.lexicon`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from spacy.strings import get_string_id
from spacy.tokens import Doc

from scrm.nlp.lexicon import (
    ALPHA,
    BUT_AFTER,
    BUT_BEFORE,
    CAPS_BOOST,
    COMPOUND_BINS,
    EXCLAMATION_BOOST,
    EXCLAMATIONS_COUNTED,
    NEGATION_IDS,
    NEGATION_SCALE,
    QUESTION_BOOST,
    QUESTIONS_MAX,
    SHARE_BINS,
    valence_lexicon,
)
from scrm.nlp.tokens import Tokens

_BUT = np.uint64(get_string_id("but"))
_LOOK_BACK = ((1, 1.0), (2, 0.95), (3, 0.9))  # VADER damps boosters two and three words back


@dataclass(frozen=True)
class Valence:
    """Per doc: the compound score in [-1, 1], the positive and negative shares, and whether it has words."""

    compound: npt.NDArray[np.float64]
    positive: npt.NDArray[np.float64]
    negative: npt.NDArray[np.float64]
    scored: npt.NDArray[np.bool_]

    def bins(self) -> npt.NDArray[np.int64]:
        """Each scored doc's three token numbers (compound, positive, negative bins) as rows of an (n, 3) array."""
        compound = np.clip(((self.compound + 1) * COMPOUND_BINS / 2).astype(np.int64), 0, COMPOUND_BINS)
        positive = np.clip((self.positive * SHARE_BINS).astype(np.int64), 0, SHARE_BINS)
        negative = np.clip((self.negative * SHARE_BINS).astype(np.int64), 0, SHARE_BINS)
        offsets = np.array([0, COMPOUND_BINS + 1, COMPOUND_BINS + SHARE_BINS + 2])
        bins: npt.NDArray[np.int64] = np.stack([compound, positive, negative], axis=1)[self.scored] + offsets
        return bins


def _word_valences(
    words: npt.NDArray[np.uint64],
    rows: npt.NDArray[np.int64],
    upper: npt.NDArray[np.bool_],
    counted: npt.NDArray[np.bool_],
    rated: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Each counted token's valence (`rated`: its lexicon valence) after VADER's rules for capitals, boosters,
    negation and "but"; 0 for the tokens not counted (punctuation)."""
    lexicon = valence_lexicon()
    valence = rated.copy()
    count = len(rows)
    docs = int(rows[-1]) + 1
    upper_words = np.bincount(rows, weights=upper & counted, minlength=docs)
    mixed_case = (upper_words > 0) & (upper_words < np.bincount(rows, weights=counted, minlength=docs))
    valence += np.where(upper & mixed_case[rows], np.sign(valence) * CAPS_BOOST, 0.0)
    boosts, negators = lexicon.boosts(words), np.isin(words, NEGATION_IDS)
    boost = np.zeros(count)
    negated = np.zeros(count, dtype=bool)
    for back, damping in _LOOK_BACK:
        if count <= back:
            break
        same = rows[back:] == rows[:-back]
        boost[back:] += np.where(same, boosts[:-back] * damping, 0.0)
        negated[back:] |= same & negators[:-back]
    valence += np.sign(valence) * boost
    valence = np.where(negated, valence * NEGATION_SCALE, valence)
    is_but = words == _BUT
    buts_before = np.cumsum(is_but) - is_but
    buts_before -= buts_before[np.searchsorted(rows, rows)]  # count within the doc only
    has_but = np.bincount(rows, weights=is_but, minlength=docs) > 0
    factor = np.where(buts_before > 0, BUT_AFTER, np.where(is_but, 1.0, BUT_BEFORE))
    return np.where(counted, valence * np.where(has_but[rows], factor, 1.0), 0.0)


def _emphasis(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """VADER's amplifier from exclamation marks (up to 4) and repeated question marks."""
    exclamations = np.array([min(text.count("!"), EXCLAMATIONS_COUNTED) for text in texts], dtype=np.float64)
    questions = np.array([text.count("?") for text in texts], dtype=np.float64)
    asked = np.where(questions > 3, QUESTIONS_MAX, questions * QUESTION_BOOST)
    return exclamations * EXCLAMATION_BOOST + np.where(questions > 1, asked, 0.0)


def score_docs(docs: Sequence[Doc], texts: Sequence[str]) -> Valence:
    """Score a batch of docs (`texts` are their texts, for punctuation emphasis)."""
    return score_tokens(Tokens.of(docs), texts)


def score_tokens(tokens: Tokens, texts: Sequence[str]) -> Valence:
    """Score a batch from its tokens (`texts` are the docs' texts, for punctuation emphasis)."""
    count = len(texts)
    if len(tokens) == 0:
        empty = np.zeros(count)
        return Valence(empty, empty, empty, np.zeros(count, dtype=bool))
    words, punct, upper, rows = tokens.words, tokens.punct, tokens.upper, tokens.rows
    rated = valence_lexicon().lookup(words)
    counted = ~punct | (rated != 0)  # emoticons such as ":)" are punctuation to spaCy
    valence = _word_valences(words, rows, upper, counted, rated)
    emphasis = _emphasis(texts)
    total = np.bincount(rows, weights=valence, minlength=count).astype(np.float64)
    total += np.sign(total) * emphasis
    positive = np.bincount(rows, weights=np.where(valence > 0, valence + 1, 0.0), minlength=count)
    negative = -np.bincount(rows, weights=np.where(valence < 0, valence - 1, 0.0), minlength=count)
    # neutral words as VADER counts them: the text's whitespace-separated words that carry no valence
    with_valence = np.bincount(rows, weights=counted & (valence != 0), minlength=count)
    neutral = np.maximum(np.array([len(text.split()) for text in texts], dtype=np.float64) - with_valence, 0.0)
    positive += np.where(positive > negative, emphasis, 0.0)
    negative += np.where(positive < negative, emphasis, 0.0)
    shares = np.maximum(positive + negative + neutral, 1e-9)
    scored = (np.bincount(rows, weights=counted, minlength=count) > 0) & np.array([bool(t.strip()) for t in texts])
    return Valence(total / np.sqrt(total * total + ALPHA), positive / shares, negative / shares, scored)

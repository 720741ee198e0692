"""Hashed features are stable, normalised and batch-independent."""

from __future__ import annotations

import numpy as np
import spacy

from scrm.nlp.features import FeatureSpec, featurise, normalise
from scrm.nlp.lexicon import valence_tokens

SPEC = FeatureSpec(char_min=2, char_max=4, word_max=2, bits=18)


def test_normalise_folds_urls_mentions_digits_and_floods() -> None:
    assert normalise("@Bob see https://x.co/a 12345 sooooo GOOD") == "@u see  http  00000 soo good"


def test_features_do_not_depend_on_the_batch() -> None:
    nlp = spacy.blank("en")
    texts = ["I don't like it.", "", "Great phone!!! 😍", "订单号 123"]
    together = featurise(list(nlp.pipe(texts)), SPEC)
    for position, text in enumerate(texts):
        alone = featurise([nlp(text)], SPEC)
        rows = together.take(np.array([position]))
        assert np.array_equal(alone.indices, rows.indices)
        assert np.allclose(alone.values, rows.values)


def test_rows_are_unit_length_and_empty_text_has_no_features() -> None:
    nlp = spacy.blank("en")
    rows = featurise([nlp("hello there"), nlp("")], SPEC)
    first = rows.values[rows.indptr[0] : rows.indptr[1]]
    assert np.isclose(float(np.sum(first * first)), 1.0)
    assert rows.indptr[2] == rows.indptr[1]


def test_bucket_numbers_are_fixed_across_processes() -> None:
    rows = featurise([spacy.blank("zh")("好评")], FeatureSpec(char_min=1, char_max=2, word_max=0, bits=18))
    assert sorted(rows.indices.tolist()) == EXPECTED_BUCKETS


def test_negation_changes_the_words_after_it() -> None:
    nlp = spacy.blank("en")
    word_only = FeatureSpec(char_min=9, char_max=8, word_max=1, bits=18)
    plain = set(featurise([nlp("good")], word_only).indices.tolist())
    negated = set(featurise([nlp("not good")], word_only).indices.tolist())
    assert not plain & negated


def test_lexicon_tokens_follow_vader_valence_with_its_negation_and_emphasis_rules() -> None:
    assert valence_tokens("I love this so much!!") == ["vader:c8", "vader:p2", "vader:n0"]
    assert valence_tokens("worst service ever :(") == ["vader:c1", "vader:p0", "vader:n3"]
    # "not good" is negative, though "good" alone is positive
    assert valence_tokens("good")[0] == "vader:c7"
    assert valence_tokens("not good")[0] == "vader:c3"
    # a text the lexicon does not know sits in the middle bin
    assert valence_tokens("订单号 123") == ["vader:c5", "vader:p0", "vader:n0"]


def test_lexicon_features_tell_apart_words_the_n_grams_cannot() -> None:
    nlp = spacy.blank("en")
    lexicon_only = FeatureSpec(char_min=9, char_max=8, word_max=0, bits=18, lexicon=True)
    happy = featurise([nlp("delightful")], lexicon_only)
    sad = featurise([nlp("dreadful")], lexicon_only)
    assert len(happy.indices) == 3 and len(sad.indices) == 3
    assert set(happy.indices.tolist()) != set(sad.indices.tolist())
    empty = featurise([nlp("  ")], lexicon_only)
    assert empty.indptr[-1] == 0
    # the lexicon is part of what decides the hashes: models with and without it never share a pass
    assert lexicon_only.hashing != FeatureSpec(char_min=9, char_max=8, word_max=0, bits=18).hashing


EXPECTED_BUCKETS = [10452, 25833, 78471, 106092, 112979, 187799]

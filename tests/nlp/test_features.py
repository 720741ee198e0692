"""Hashed features are stable, normalised and batch-independent."""

from __future__ import annotations

import dataclasses

import numpy as np
import spacy

from scrm.nlp.features import FeatureSpec, featurise, normalise
from scrm.nlp.valence import Valence, score_docs

SPEC = FeatureSpec(char_min=2, char_max=4, word_max=2, bits=18)


def test_normalise_folds_urls_mentions_digits_and_floods() -> None:
    assert normalise("@Bob see https://x.co/a 12345 sooooo GOOD") == "@u see  http  00000 soo good"


def test_features_do_not_depend_on_the_batch() -> None:
    nlp = spacy.blank("en")
    # negations, boosters and "but" must not reach into the next text
    texts = ["I don't", "", "Great phone!!! 😍", "订单号 123", "not", "very", "good but", "bad", "NICE"]
    for spec in (SPEC, dataclasses.replace(SPEC, lexicon=True)):
        together = featurise(list(nlp.pipe(texts)), spec)
        for position, text in enumerate(texts):
            alone = featurise([nlp(text)], spec)
            rows = together.take(np.array([position]))
            assert np.array_equal(alone.indices, rows.indices), (spec, text)
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


def scored(*texts: str) -> Valence:
    nlp = spacy.blank("en")
    return score_docs([nlp(text) for text in texts], list(texts))


def test_valence_follows_vaders_rules() -> None:
    # compound scores as VADER 3.3.2 gives them for these texts
    expected = {
        "I love this so much!!": 0.699,
        "not good at all": -0.341,  # a negation flips "good"
        "worst service ever :(": -0.791,  # ":(" is punctuation to spaCy but rated in the lexicon
        "The food was GREAT but the service was slow": 0.444,  # capitals, and "but"
        "very good": 0.493,  # a booster strengthens
        "kinda good": 0.383,  # and one softens
        "is it good??? hmm": 0.533,  # repeated question marks amplify
        "love it 😍😍": 0.881,  # emoji carry the valence of their names
        "meh": -0.077,
    }
    valence = scored(*expected)
    assert np.allclose(valence.compound, list(expected.values()), atol=0.001)
    assert valence.scored.all()
    assert valence.positive[1] == 0 and valence.negative[1] > 0


def test_text_without_words_is_not_scored_and_unknown_words_are_neutral() -> None:
    valence = scored("", "   ", "订单号 123")
    assert valence.scored.tolist() == [False, False, True]
    assert valence.compound[2] == 0 and valence.bins().tolist() == [[5, 11, 17]]


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

"""Hashed character and word n-gram features for short social-media texts.

Every feature is hashed into a fixed number of buckets, so a model is a dense weight matrix of
``2**bits`` rows and needs no vocabulary. Hashes are stable across processes: characters use a
polynomial rolling hash computed with numpy over a whole batch at once, words use spaCy's own
64-bit lexeme hashes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from spacy.strings import get_string_id
from spacy.tokens import Doc

from scrm.nlp.lexicon import NEGATION_IDS, TOKEN_COUNT, TOKENS
from scrm.nlp.tokens import Tokens
from scrm.nlp.valence import score_tokens

_PRIME = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_WORD_SALT = np.uint64(0x9E3779B97F4A7C15)
_SKIP_SALT = np.uint64(0x2545F4914F6CDD1D)
_LEXICON_SALT = np.uint64(0x3B5D751ED270B27A)
_LEXICON_IDS = np.array([get_string_id(token) for token in TOKENS], dtype=np.uint64) + _LEXICON_SALT
_SEPARATOR = 1
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d")
_REPEATS = re.compile(r"(\D)\1{2,}")
_SCOPE_END_IDS = np.array([get_string_id(mark) for mark in ".,!?;:"], dtype=np.uint64)


Hashing = tuple[int, int, int, bool, bool, bool]


@dataclass(frozen=True)
class FeatureSpec:
    """Which n-grams a model reads and how many hash buckets it has."""

    char_min: int = 2
    char_max: int = 5
    word_max: int = 2
    bits: int = 20
    negation: bool = True
    skip_grams: bool = False
    lexicon: bool = False  # English sentiment-lexicon tokens (see scrm.nlp.lexicon)

    @property
    def hashing(self) -> Hashing:
        """The settings that decide the n-gram hashes (all but the number of buckets)."""
        return (self.char_min, self.char_max, self.word_max, self.negation, self.skip_grams, self.lexicon)

    @property
    def buckets(self) -> int:
        """Number of rows of the weight matrix."""
        return 1 << self.bits

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain JSON data."""
        return asdict(self)


@dataclass(frozen=True)
class SparseRows:
    """A batch of feature vectors in compressed-row form (one row per text)."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    values: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def take(self, rows: npt.NDArray[np.int64]) -> SparseRows:
        """Return the rows at the given positions, in that order."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        offsets = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[offsets], self.values[offsets])

    def row_ids(self) -> npt.NDArray[np.int64]:
        """Return, for every stored value, the row it belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))


def normalise(text: str) -> str:
    """Lower-case a text, fold URLs, @mentions and digits to placeholders and cut floods (soooo) to two."""
    text = _URL.sub(" http ", text.lower())
    text = _MENTION.sub("@u", text)
    text = _DIGITS.sub("0", text)
    return _REPEATS.sub(r"\1\1", text)


def _mix(hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Scramble 64-bit hashes so their top bits are well spread (murmur3 finaliser)."""
    hashes = hashes ^ (hashes >> np.uint64(33))
    hashes = hashes * _MIX_1
    hashes = hashes ^ (hashes >> np.uint64(33))
    hashes = hashes * _MIX_2
    return hashes ^ (hashes >> np.uint64(33))


def _char_hashes(texts: Sequence[str], spec: FeatureSpec) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Return (row, hash) of every character n-gram of every text, computed for the whole batch."""
    joined = "\x01".join(f" {normalise(text)} " if text.strip() else "" for text in texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    separators = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(codes == _SEPARATOR, out=separators[1:])
    rows, hashes = [], []
    rolling = np.zeros(len(codes), dtype=np.uint64)
    for n in range(1, spec.char_max + 1):
        count = len(codes) - n + 1
        if count <= 0:
            break
        rolling = rolling[:count] * _PRIME + codes[n - 1 : n - 1 + count]
        if n < spec.char_min:
            continue
        inside = separators[n : n + count] == separators[:count]
        rows.append(separators[:count][inside])
        hashes.append(rolling[inside] + np.uint64(n))
    if spec.skip_grams and len(codes) > 2:
        count = len(codes) - 2
        inside = separators[3 : 3 + count] == separators[:count]
        rows.append(separators[:count][inside])
        hashes.append((codes[:count] * _PRIME * _PRIME + codes[2:] + _SKIP_SALT)[inside])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return np.concatenate(rows), np.concatenate(hashes)


def _negation_marks(
    words: npt.NDArray[np.uint64], puncts: npt.NDArray[np.uint64], doc_ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    """Return 1 for each word inside the scope of a negation: up to the next punctuation mark or doc end."""
    marks = np.zeros(len(words), dtype=np.uint64)
    starts = np.flatnonzero(np.isin(words, NEGATION_IDS))
    if len(starts) == 0:
        return marks
    ends = np.flatnonzero((puncts > 0) & np.isin(words, _SCOPE_END_IDS))
    for start in starts:
        later = ends[ends > start]
        stop = min(int(later[0]) if len(later) else len(words), int(doc_ends[start]))
        marks[start + 1 : stop] = 1
    return marks


def _word_hashes(tokens: Tokens, spec: FeatureSpec) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Return (row, hash) of every word n-gram of every doc, negated words marked when asked."""
    if len(tokens) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    rows, words = tokens.rows, tokens.words
    if spec.negation:
        doc_ends = np.cumsum(tokens.lengths)[rows]
        words = words + _negation_marks(words, tokens.punct.astype(np.uint64), doc_ends) * _WORD_SALT
    if spec.word_max < 2:
        return rows, words
    same_doc = rows[:-1] == rows[1:]
    bigrams = (words[:-1] * _PRIME + words[1:] + _WORD_SALT)[same_doc]
    return np.concatenate([rows, rows[:-1][same_doc]]), np.concatenate([words, bigrams])


def _lexicon_hashes(tokens: Tokens, texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Return (row, hash) of every doc's lexicon tokens, each counted ``TOKEN_COUNT`` times; none for blank texts."""
    valence = score_tokens(tokens, texts)
    bins = np.repeat(valence.bins(), TOKEN_COUNT, axis=1)  # (scored docs, 3 * TOKEN_COUNT)
    rows = np.repeat(np.flatnonzero(valence.scored), bins.shape[1])
    return rows.astype(np.int64), _LEXICON_IDS[bins.ravel()]


@dataclass(frozen=True)
class HashedNgrams:
    """The 64-bit hashes of all n-grams of a batch of texts, with the row each belongs to."""

    rows: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]
    count: int


def hash_ngrams(docs: Sequence[Doc], spec: FeatureSpec, texts: Sequence[str] | None = None) -> HashedNgrams:
    """Hash the character and word n-grams of a batch of docs (``texts`` saves rebuilding doc texts)."""
    texts = texts if texts is not None else [doc.text for doc in docs]
    rows, hashes = _char_hashes(texts, spec)
    tokens = Tokens.of(docs) if spec.word_max > 0 or spec.lexicon else None
    if tokens is not None and spec.word_max > 0:
        word_rows, word_hashes = _word_hashes(tokens, spec)
        rows, hashes = np.concatenate([rows, word_rows]), np.concatenate([hashes, word_hashes])
    if tokens is not None and spec.lexicon:
        lexicon_rows, lexicon_hashes = _lexicon_hashes(tokens, texts)
        rows, hashes = np.concatenate([rows, lexicon_rows]), np.concatenate([hashes, lexicon_hashes])
    return HashedNgrams(rows, _mix(hashes), len(docs))


def bucketise(ngrams: HashedNgrams, bits: int) -> SparseRows:
    """Fold hashed n-grams into ``2**bits`` buckets as L2-normalised, log-scaled count vectors."""
    buckets = (ngrams.hashes >> np.uint64(64 - bits)).astype(np.int64)
    keys, counts = np.unique((ngrams.rows << bits) | buckets, return_counts=True)
    rows = keys >> bits
    values = np.log1p(counts).astype(np.float32)
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=ngrams.count))
    values /= np.maximum(norms[rows], 1e-9).astype(np.float32)
    indptr = np.zeros(ngrams.count + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=ngrams.count), out=indptr[1:])
    return SparseRows(indptr, (keys & np.int64((1 << bits) - 1)).astype(np.int32), values)


def featurise(docs: Sequence[Doc], spec: FeatureSpec) -> SparseRows:
    """Turn a batch of docs into L2-normalised, log-scaled hashed n-gram count vectors."""
    return bucketise(hash_ngrams(docs, spec), spec.bits)

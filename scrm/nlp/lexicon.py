"""Sentiment-lexicon features for English: VADER-style valence of a text, binned into feature tokens.

The lexicon is VADER's (Hutto and Gilbert, ICWSM 2014; the ``vaderSentiment`` package, MIT
licence): ~7,500 words, emoticons and slang rated from -4 to +4, read from the installed package.
Emoji count with the valence of the words of their name (as VADER reads them). The scoring follows
VADER's rules, computed with numpy over a whole batch of spaCy docs (VADER's own pure-Python
scorer costs ~40 µs a text, too much for the tagger's budget): a booster word before a rated word
strengthens or softens it, a negation among the three words before it flips and damps it, a rated
word in capitals among lower-case ones is emphasised, words before "but" count half and after it
one and a half times, and "!" and repeated "?" amplify the sum. Each text then gets three tokens:
its compound score (sum / sqrt(sum² + 15)) in 11 bins and its positive and negative shares in 6
bins each; a linear model learns a weight per bin, so the mapping need not be linear.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt
from spacy.strings import get_string_id

# each token counts as this many occurrences, so it stands out among a tweet's ~100 n-grams
TOKEN_COUNT = 3
COMPOUND_BINS = 10  # compound in [-1, 1] -> bins 0..10 (the top bin holds exactly 1.0)
SHARE_BINS = 5  # positive / negative share in [0, 1] -> bins 0..5
TOKENS = (
    [f"vader:c{i}" for i in range(COMPOUND_BINS + 1)]
    + [f"vader:p{i}" for i in range(SHARE_BINS + 1)]
    + [f"vader:n{i}" for i in range(SHARE_BINS + 1)]
)

# VADER's constants (vaderSentiment 3.3.2)
BOOST = 0.293
CAPS_BOOST = 0.733
NEGATION_SCALE = -0.74
BUT_BEFORE, BUT_AFTER = 0.5, 1.5
EXCLAMATION_BOOST, EXCLAMATIONS_COUNTED = 0.292, 4
QUESTION_BOOST, QUESTIONS_MAX = 0.18, 0.96
ALPHA = 15.0
NEGATION_WORDS = (
    "not no never nothing nobody none nor neither cannot cant can't don't dont doesn't doesnt "
    "didn't didnt isn't isnt aren't arent wasn't wasnt won't wont wouldn't wouldnt shouldn't "
    "couldn't n't without hardly barely"
)
NEGATION_IDS = np.array([get_string_id(word) for word in NEGATION_WORDS.split()], dtype=np.uint64)
_BOOSTERS_UP = (
    "absolutely amazingly awfully completely considerable considerably decidedly deeply effing enormous "
    "enormously entirely especially exceptional exceptionally extreme extremely fabulously flipping flippin "
    "frackin fracking fricking frickin frigging friggin fully fuckin fucking fuggin fugging greatly hella highly "
    "hugely incredible incredibly intensely major majorly more most particularly purely quite really remarkably "
    "so substantially thoroughly total totally tremendous tremendously uber unbelievably unusually utter utterly "
    "very"
)
_BOOSTERS_DOWN = (
    "almost barely hardly kinda kindof kind-of less little marginal marginally occasional occasionally partly "
    "scarce scarcely slight slightly somewhat sorta sortof sort-of"
)


@dataclass(frozen=True)
class ValenceLexicon:
    """Word ids (spaCy string ids of the lower-cased words) sorted, with their valence and booster values."""

    ids: npt.NDArray[np.uint64]
    valences: npt.NDArray[np.float64]
    booster_ids: npt.NDArray[np.uint64]
    booster_values: npt.NDArray[np.float64]

    def lookup(self, words: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
        """Return each word's valence (0 for words not in the lexicon)."""
        return _find(self.ids, self.valences, words)

    def boosts(self, words: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
        """Return each word's booster value (+0.293 "very", -0.293 "slightly", 0 otherwise)."""
        return _find(self.booster_ids, self.booster_values, words)


def _find(
    keys: npt.NDArray[np.uint64], values: npt.NDArray[np.float64], wanted: npt.NDArray[np.uint64]
) -> npt.NDArray[np.float64]:
    """Look `wanted` up in sorted `keys`; 0 where absent."""
    if len(keys) == 0 or len(wanted) == 0:
        return np.zeros(len(wanted), dtype=np.float64)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, values[at], 0.0)


def _table(pairs: dict[str, float]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
    """Sort a word -> value mapping by the words' string ids."""
    ids = np.array([get_string_id(word) for word in pairs], dtype=np.uint64)
    values = np.array(list(pairs.values()), dtype=np.float64)
    order = np.argsort(ids)
    return ids[order], values[order]


@lru_cache(maxsize=1)
def valence_lexicon() -> ValenceLexicon:
    """Read VADER's word and emoji lexicons from the installed package, once per process (~20 ms)."""
    package = resources.files("vaderSentiment")
    words: dict[str, float] = {}
    for line in (package / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and " " not in parts[0]:  # multi-word entries cannot match one token
            words[parts[0].lower()] = float(parts[1])
    for line in (package / "emoji_utf8_lexicon.txt").read_text(encoding="utf-8").splitlines():
        emoji, _, name = line.partition("\t")
        valence = sum(words.get(word, 0.0) for word in name.lower().split())
        if emoji and valence:
            words.setdefault(emoji, valence)
    boosters = dict.fromkeys(_BOOSTERS_UP.split(), BOOST) | dict.fromkeys(_BOOSTERS_DOWN.split(), -BOOST)
    return ValenceLexicon(*_table(words), *_table(boosters))

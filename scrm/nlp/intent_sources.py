"""Gather intent training examples: our own labelled posts plus public sets whose labels fit.

Public labels are mapped onto our taxonomy where the meaning matches (a complaint tweet is a
complaint, a spam SMS is spam, a banking help question is a support request, a positive
shopping review is praise) and sub-sampled with a fixed seed so they do not drown our own
examples, which also count more in training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from scrm.nlp.datasets import Example, get_corpus_split, get_examples, split_dev

OWN_DATA = Path(__file__).resolve().parent / "data"
OWN_WEIGHT = 3.0
SAMPLE_SEED = 13
_BANKING_PRICING = frozenset({"exchange_rate", "exchange_charge", "top_up_by_card_charge", "transfer_fee_charged"})
LabelMap = Callable[[str], str | None]


def own_examples(language: str) -> tuple[list[Example], list[Example]]:
    """Return (train, dev) of our own hand-labelled intent examples for ``en`` or ``zh``."""
    examples = get_examples(OWN_DATA / f"intent_{language}.jsonl", OWN_WEIGHT)
    return split_dev(examples, fraction=0.2)


def _mapped(name: str, mapping: LabelMap, limit: int, root: Path | None) -> list[Example]:
    """Return up to ``limit`` train examples of a public set whose label maps into our taxonomy."""
    examples = [
        Example(example.text, label)
        for example in get_corpus_split(name, "train", root)
        if (label := mapping(example.label)) is not None
    ]
    examples = [examples[i] for i in np.random.default_rng(SAMPLE_SEED).permutation(len(examples))]
    by_label: dict[str, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    share = max(1, limit // max(1, len(by_label)))
    return [example for group in by_label.values() for example in group[:share]]


def _public_en(root: Path | None) -> list[Example]:
    """Map the English public sets onto the intent taxonomy."""
    return [
        *_mapped("complaints", lambda label: "complaint" if label == "complaint" else None, 360, root),
        *_mapped("sms_spam", lambda label: "spam" if label == "spam" else "other", 400, root),
        *_mapped("banking77", lambda label: "pricing" if label in _BANKING_PRICING else "support_request", 360, root),
        *_mapped("clinc150", lambda label: "other", 200, root),
    ]


def _review_intent(label: str) -> str | None:
    """Read a negative shopping review as a complaint and a positive one as praise."""
    return {"negative": "complaint", "positive": "praise"}.get(label)


def _public_zh(root: Path | None) -> list[Example]:
    """Map the Chinese public sets onto the intent taxonomy."""
    return [
        *_mapped("waimai_10k", _review_intent, 320, root),
        *_mapped("online_shopping_10cats", _review_intent, 320, root),
        *_mapped("cais", lambda label: "other", 120, root),
        *_mapped("weibo_sent3", lambda label: "other" if label == "neutral" else None, 160, root),
    ]


def intent_examples(language: str, root: Path | None = None) -> tuple[list[Example], list[Example]]:
    """Return (train, dev) for a language's intent model; dev is held out from our own examples only."""
    own_train, own_dev = own_examples(language)
    public: Sequence[Example] = _public_en(root) if language == "en" else _public_zh(root)
    return [*own_train, *public], own_dev

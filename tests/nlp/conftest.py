"""Shared fixtures: the shipped tagger and a tiny labelled data set written to disk."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from scrm.nlp import Tagger

BILLING = [
    "I was charged twice on my invoice",
    "please refund the extra payment",
    "why is my bill so high this month",
    "the charge on my card is wrong",
    "I need a copy of my invoice",
    "payment failed but money left my account",
    "can you refund my last bill",
    "double charge on my credit card again",
    "my invoice shows a fee I never agreed to",
    "refund still not on my card statement",
    "you billed me for a plan I cancelled",
    "the payment page took my money twice",
    "wrong amount on the invoice",
    "charged a late fee on my bill",
    "where is the refund for my payment",
    "my card was charged after I cancelled",
    "bill says I owe more than I paid",
    "duplicate payment on my invoice",
    "refund the charge please",
    "the invoice total is wrong",
]
DELIVERY = [
    "my parcel has not arrived yet",
    "where is my package, tracking shows nothing",
    "the courier left the box at the wrong door",
    "shipping is taking forever",
    "tracking number does not work",
    "package arrived damaged by the courier",
    "when will my parcel be delivered",
    "the delivery van never came",
    "my shipment is stuck in transit",
    "courier says delivered but no package",
    "how long does shipping take to my town",
    "the parcel went to my old address",
    "delivery was late again",
    "tracking has not updated for a week",
    "box arrived crushed after shipping",
    "can the courier come tomorrow",
    "my package is lost in transit",
    "the delivery window was missed",
    "shipping label printed but parcel not collected",
    "parcel delivered to a neighbour",
]


def write_jsonl(path: Path, records: Sequence[Mapping[str, object]]) -> Path:
    """Write records as JSON Lines and return the path."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    """The shipped tagger, loaded once for the whole test session."""
    return Tagger.load()


@pytest.fixture
def tiny_train(tmp_path: Path) -> Path:
    """A small two-topic training file (billing vs delivery)."""
    records = [{"text": t, "label": "billing"} for t in BILLING] + [{"text": t, "label": "delivery"} for t in DELIVERY]
    return write_jsonl(tmp_path / "train.jsonl", records)

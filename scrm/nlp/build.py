"""Build the shipped English and Chinese pipelines from the shared corpora and our own examples.

Run ``python -m scrm.nlp.build [--out DIR]`` (corpora under ``$SCRM_NLP_CORPORA``, by default
``../shared/nlp`` beside the repository). It writes ``en/`` and ``zh/`` spaCy pipelines, each with
a ``sentiment`` and an ``intent`` classifier, and prints every model's dev report.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click
from rich.console import Console

from scrm.nlp.datasets import Example, get_corpus_split, without_held_out
from scrm.nlp.intent_sources import intent_examples, own_examples
from scrm.nlp.metrics import print_report
from scrm.nlp.optimiser import TrainSettings
from scrm.nlp.pipelines import SPECS, add_classifier, get_classifier, new_pipeline, save_pipeline
from scrm.nlp.tagger import SHIPPED_MODELS
from scrm.nlp.training import TrainOptions, TrainResult, train_task

VERSION = "0.3.1"
ZH_SENTIMENT_SETS = ("weibo_sent3", "chnsenticorp", "waimai_10k", "online_shopping_10cats")
ZH_SENTIMENT_DEV_SETS = ("weibo_sent3", "chnsenticorp")
INTENT_BITS = 18
SENTIMENT_BALANCE = 1.0  # full class balancing: the rare negative class matters most in an inbox
SENTIMENT_NB_POWER = {"en": 1.0, "zh": 0.5}  # softer NB scaling measured better on every Chinese dev set
INTENT_SENTIMENT = {
    "purchase_inquiry": "neutral",
    "pricing": "neutral",
    "support_request": "neutral",
    "praise": "positive",
    "complaint": "negative",
}


def own_sentiment_examples(language: str) -> list[Example]:
    """Read our own intent examples as sentiment: questions are neutral, praise positive, complaints negative.

    Public sentiment data has few neutral questions (the binary review sets have none), so these
    keep "is it in stock?" from reading as negative.
    """
    train, _ = own_examples(language)
    return [
        Example(example.text, INTENT_SENTIMENT[example.label], example.weight)
        for example in train
        if example.label in INTENT_SENTIMENT
    ]


def sentiment_examples(language: str, root: Path | None = None) -> tuple[list[Example], list[Example]]:
    """Return (train, dev) for a language's sentiment model."""
    own = own_sentiment_examples(language)
    if language == "en":
        dev = get_corpus_split("tweeteval_sentiment", "dev", root)
        return [*without_held_out(get_corpus_split("tweeteval_sentiment", "train", root), dev), *own], dev
    dev_of = {name: get_corpus_split(name, "dev", root) for name in ZH_SENTIMENT_SETS}
    all_dev = [example for examples in dev_of.values() for example in examples]
    train = [example for name in ZH_SENTIMENT_SETS for example in get_corpus_split(name, "train", root)]
    dev = [example for name in ZH_SENTIMENT_DEV_SETS for example in dev_of[name]]
    return [*without_held_out(train, all_dev), *own], dev


def _train(task: str, language: str, data: tuple[list[Example], list[Example]], console: Console) -> TrainResult:
    """Train one shipped classifier and print its dev report."""
    spec = SPECS[language] if task == "sentiment" else dataclasses.replace(SPECS[language], bits=INTENT_BITS)
    sentiment = task == "sentiment"
    settings = TrainSettings(balance=SENTIMENT_BALANCE if sentiment else 0.5)
    options = TrainOptions(
        task=task,
        settings=settings,
        language=language,
        spec=spec,
        naive_bayes=sentiment,
        naive_bayes_power=SENTIMENT_NB_POWER[language],
    )
    started = time.perf_counter()
    result = train_task(data[0], data[1], options, console)
    print_report(result.report, console, f"{language} {task} ({time.perf_counter() - started:.0f}s)")
    return result


def build_shipped(out: Path, root: Path | None = None, console: Console | None = None) -> None:
    """Train and save the ``en`` and ``zh`` pipelines into ``out``."""
    console = console or Console(stderr=True)
    out.mkdir(parents=True, exist_ok=True)
    for language in ("en", "zh"):
        nlp = new_pipeline(language)
        for task, data in (
            ("sentiment", sentiment_examples(language, root)),
            ("intent", intent_examples(language, root)),
        ):
            trained = _train(task, language, data, console)
            add_classifier(nlp, task, get_classifier(trained.nlp, task).models[task])
        save_pipeline(nlp, out / language, f"scrm_{language}", VERSION)


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=SHIPPED_MODELS, show_default=True)
@click.option("--corpora", type=click.Path(path_type=Path), default=None, help="Corpora folder.")
def main(out: Path, corpora: Path | None) -> None:
    """Train the shipped English and Chinese pipelines from the corpora and our own examples."""
    started = time.perf_counter()
    build_shipped(out, corpora)
    click.echo(f"built {out} in {time.perf_counter() - started:.0f}s", err=True)


if __name__ == "__main__":
    main()

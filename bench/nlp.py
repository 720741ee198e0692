"""Measure the NLP tagger: load time, texts per second, and dev-set figures per corpus.

python bench/nlp.py speed [--models DIR] [--language en|zh]  # load time and texts/s of the whole tagger
python bench/nlp.py sets [--only NAME ...] [--auxiliary-only] [--naive-bayes-power P] [--no-lexicon]
                                                # train on each corpus, score its dev split
python bench/nlp.py shipped [--models DIR]      # the shipped models on the corpora dev splits
python bench/nlp.py baselines [--only NAME ...] [--balanced]  # TF-IDF + logistic regression, same splits
                                                # (needs scikit-learn: pip install -e '.[bench]')
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import click
import numpy as np

from scrm.nlp.datasets import Example, get_corpus_split, without_held_out
from scrm.nlp.metrics import score
from scrm.nlp.optimiser import TrainSettings
from scrm.nlp.pipelines import SPECS, pipeline_language
from scrm.nlp.scoring import best_label, load_scorer
from scrm.nlp.training import Auxiliary, TrainOptions, train_task

SOCIAL_TEXTS = [
    "omg the new update is sooo good 😍 can't stop using it",
    "my order #A12345678 still hasn't arrived, 3 weeks now @support wtf",
    "这个口红颜色太好看了！！已经回购三次了 😘",
    "快递一个星期了还没到，客服也不回消息，差评",
    "how much is the pro plan? dm me the price pls",
    "想合作，加我微信: abc_123 或电话 13812345678",
    "FREE iPhone giveaway!!! click www.win-prize.top now",
    "iPhone 15 Pro Max 256G 多少钱？能便宜点吗",
    "call me at +1 415 555 2671, interested in a bulk order of 500 units",
    "今天天气真好，出去玩啦～",
]


@dataclass(frozen=True)
class Row:
    """One line of the model card table: a corpus, its metric and the reference figures.

    ``baseline`` and ``best`` are the issue's figures on the corpora's test splits; ``best_dev``
    is the best published figure on the same dev split, where one is published.
    """

    corpus: str
    metric: str
    baseline: float
    best: float | None = None
    auxiliary: tuple[str, ...] = ()
    best_dev: float | None = None


REVIEWS = ("waimai_10k", "online_shopping_10cats")


ROWS = [
    Row("tweeteval_sentiment", "macro_recall", 58.7, 73.7),
    # dev: RoBERTa-wwm-ext-large, best of 10 runs (MacBERT authors' README, github.com/ymcui/MacBERT)
    Row("chnsenticorp", "accuracy", 93.8, 95.9, REVIEWS, best_dev=95.8),
    Row("weibo_sent3", "macro_f1", 82.6, None, ("chnsenticorp", *REVIEWS)),
    Row("complaints", "macro_f1", 81.7),
    Row("sms_spam", "macro_f1", 95.7),
    Row("banking77", "accuracy", 89.2),
]


def _texts(count: int) -> list[str]:
    """Return ``count`` social-length texts, English and Chinese mixed."""
    return [SOCIAL_TEXTS[i % len(SOCIAL_TEXTS)] + f" {i}" for i in range(count)]


def _load_seconds(models: Path | None) -> tuple[float, float]:
    """Time loading the tagger in a fresh process, imports included: (wall clock, CPU) seconds."""
    where = f"pathlib.Path({str(models)!r})" if models else "None"
    code = (
        "import time, pathlib; t, c = time.perf_counter(), time.process_time(); from scrm.nlp import Tagger; "
        f"Tagger.load({where}); print(time.perf_counter() - t, time.process_time() - c)"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    wall, cpu = output.stdout.split()
    return float(wall), float(cpu)


@click.group()
def main() -> None:
    """Benchmarks of scrm.nlp."""


def _corpus_texts(count: int, language: str = "mixed") -> list[str]:
    """Return ``count`` real posts: English tweets, Chinese Weibo posts (dev splits) or both alternating."""
    english = [e.text for e in get_corpus_split("tweeteval_sentiment", "dev")]
    chinese = [e.text for e in get_corpus_split("weibo_sent3", "dev")]
    mixed = [text for pair in zip(english, chinese, strict=False) for text in pair]
    texts = {"en": english, "zh": chinese, "mixed": mixed}[language]
    return [texts[i % len(texts)] for i in range(count)]


@main.command()
@click.option("--models", type=click.Path(path_type=Path), default=None)
@click.option("--count", type=int, default=20_000, show_default=True)
@click.option("--synthetic", is_flag=True, help="Use built-in posts (20% with phone numbers) instead of the corpora.")
@click.option("--language", type=click.Choice(["mixed", "en", "zh"]), default="mixed", show_default=True)
def speed(models: Path | None, count: int, synthetic: bool, language: str) -> None:
    """Print the tagger's load time and throughput (wall clock and CPU time of this one process)."""
    from scrm.nlp import Tagger

    loads = np.array([_load_seconds(models) for _ in range(5)])
    wall, cpu = np.median(loads, axis=0)
    click.echo(f"load time (fresh process, imports included, median of 5): {wall:.2f}s wall clock, {cpu:.2f}s CPU")
    tagger = Tagger.load(models)
    texts = _texts(count) if synthetic else _corpus_texts(count, language)
    tagger.tag_many(texts[:1000])
    wall, cpu = time.perf_counter(), time.process_time()
    tagger.tag_many(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    mean = np.mean([len(t) for t in texts])
    click.echo(f"texts: {count} ({'synthetic' if synthetic else 'corpora, ' + language}), mean {mean:.0f} characters")
    click.echo(f"tag_many: {count / cpu:,.0f} texts/s per CPU second, {count / wall:,.0f} texts/s wall clock")


COLUMNS = [(False, False, False), (True, False, False), (True, True, False), (True, False, True), (True, True, True)]


def _measure(
    row: Row, naive_bayes: bool, drop_copies: bool, auxiliary: bool = False, power: float = 1.0, lexicon: bool = True
) -> tuple[float, float]:
    """Train on a corpus's train split, score its dev split; return the row's metric and seconds taken.

    With ``drop_copies`` the training texts that nearly copy a dev text are left out first; with
    ``auxiliary`` the row's auxiliary corpora are added (``AUXILIARY_WEIGHT``, the ``train`` default);
    without ``lexicon`` the English features leave out the sentiment-lexicon tokens.
    """
    train, dev = get_corpus_split(row.corpus, "train"), get_corpus_split(row.corpus, "dev")
    if drop_copies:
        train = without_held_out(train, dev)
    pooled = [example for name in row.auxiliary for example in get_corpus_split(name, "train")]
    extra = (Auxiliary(pooled, name="+".join(row.auxiliary)),) if auxiliary else ()
    base = SPECS[pipeline_language([e.text for e in train])]
    spec = replace(base, lexicon=lexicon and base.lexicon)
    options = TrainOptions(
        task=row.corpus,
        settings=TrainSettings(),
        spec=spec,
        naive_bayes=naive_bayes,
        naive_bayes_power=power,
        auxiliary=extra,
    )
    started = time.perf_counter()
    result = train_task(train, dev, options)
    return result.report.summary()[row.metric], time.perf_counter() - started


@main.command()
@click.option("--only", multiple=True, help="Corpus names (default: every row of the table).")
@click.option("--auxiliary-only", is_flag=True, help="Only the runs with auxiliary corpora (rows that have them).")
@click.option("--naive-bayes-power", "power", type=float, default=1.0, show_default=True)
@click.option("--lexicon/--no-lexicon", default=True, show_default=True, help="English sentiment-lexicon features.")
def sets(only: tuple[str, ...], auxiliary_only: bool, power: float, lexicon: bool) -> None:
    """Train per corpus (plain, NB-scaled, without near-copies of dev, with auxiliary corpora); print dev figures."""
    click.echo(
        "| corpus | metric | TF-IDF+LR | published best | plain | NB-scaled | NB-scaled, no copies"
        " | NB-scaled + auxiliary | NB-scaled + auxiliary, no copies | seconds |"
    )
    click.echo("|---|---|---|---|---|---|---|---|---|---|")
    for row in ROWS:
        if (only and row.corpus not in only) or (auxiliary_only and not row.auxiliary):
            continue
        wanted = [c for c in COLUMNS if (row.auxiliary or not c[2]) and (c[2] or not auxiliary_only)]
        runs = {column: _measure(row, *column, power=power, lexicon=lexicon) for column in wanted}
        best = f"{row.best:.1f}" if row.best else "-"
        figures = " | ".join(f"{runs[column][0]:.2f}" if column in runs else "-" for column in COLUMNS)
        seconds = " / ".join(f"{taken:.0f}" for _, taken in runs.values())
        click.echo(f"| {row.corpus} | {row.metric} | {row.baseline:.1f} | {best} | {figures} | {seconds} |")


# TF-IDF + logistic regression grid: (analyzer, n-gram range); each with C in BASELINE_CS
BASELINE_FEATURES = [("word", (1, 1)), ("word", (1, 2)), ("char_wb", (2, 5)), ("char", (1, 3))]
BASELINE_CS = (1.0, 10.0, 100.0)
NEAR_COPIES = ("tweeteval_sentiment", "chnsenticorp")


def _tfidf_lr(train: list[Example], dev: list[Example], metric: str, balanced: bool) -> list[tuple[float, str]]:
    """Score every TF-IDF + logistic regression setting of the grid on dev; return (figure, setting) pairs."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # optional: the bench extra
    from sklearn.linear_model import LogisticRegression

    gold = [e.label for e in dev]
    figures = []
    for analyzer, ngrams in BASELINE_FEATURES:
        vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True)
        train_rows = vectorizer.fit_transform([e.text for e in train])
        dev_rows = vectorizer.transform([e.text for e in dev])
        for c in BASELINE_CS:
            weights = "balanced" if balanced else None
            model = LogisticRegression(C=c, max_iter=3000, class_weight=weights).fit(
                train_rows, [e.label for e in train]
            )
            predicted = [str(label) for label in model.predict(dev_rows)]
            value = score(gold, predicted).summary()[metric]
            figures.append((value, f"{analyzer} {ngrams[0]}-{ngrams[1]}, C={c:g}"))
    return figures


@main.command()
@click.option("--only", multiple=True, help="Corpus names (default: every row of the table).")
@click.option("--each", is_flag=True, help="Also print every setting of the grid.")
@click.option("--balanced", is_flag=True, help="Weigh classes inversely to their frequency (fairer on macro-recall).")
def baselines(only: tuple[str, ...], each: bool, balanced: bool) -> None:
    """Print TF-IDF + logistic regression on the same train/dev splits as `sets`: best and median of a grid.

    The grid (word 1, word 1-2, char_wb 2-5, char 1-3; C 1, 10, 100; sublinear tf) is scored on the
    dev split itself, so its best figure is a generous baseline (a setting picked on the test data,
    as it were) and its median a typical one. For the corpora whose train split nearly copies dev
    texts, the grid is also run without those copies.
    """
    click.echo(
        "| corpus | metric | issue's TF-IDF+LR (test) | same dev split: best of grid | setting | median of grid"
        " | no copies: best | median |"
    )
    click.echo("|---|---|---|---|---|---|---|---|")
    for row in ROWS:
        if only and row.corpus not in only:
            continue
        train, dev = get_corpus_split(row.corpus, "train"), get_corpus_split(row.corpus, "dev")
        figures = _tfidf_lr(train, dev, row.metric, balanced)
        best, setting = max(figures)
        median = float(np.median([value for value, _ in figures]))
        clean = ["-", "-"]
        if row.corpus in NEAR_COPIES:
            clean_figures = _tfidf_lr(without_held_out(train, dev), dev, row.metric, balanced)
            clean = [f"{max(clean_figures)[0]:.2f}", f"{float(np.median([v for v, _ in clean_figures])):.2f}"]
            figures += [(value, f"{name} (no copies)") for value, name in clean_figures]
        click.echo(
            f"| {row.corpus} | {row.metric} | {row.baseline:.1f} | {best:.2f} | {setting} | {median:.2f}"
            f" | {clean[0]} | {clean[1]} |"
        )
        if each:
            for value, name in figures:
                click.echo(f"    {row.corpus}: {name}: {value:.2f}")


def _binary(scores: dict[str, float]) -> str:
    """Read three-way sentiment scores as a positive/negative decision."""
    return "positive" if scores["positive"] >= scores["negative"] else "negative"


@main.command()
@click.option("--models", type=click.Path(path_type=Path), default=None)
def shipped(models: Path | None) -> None:
    """Print the shipped sentiment models' figures on the sentiment corpora dev splits."""
    scorer = load_scorer("sentiment", models)
    for corpus in ("tweeteval_sentiment", "weibo_sent3", "chnsenticorp", "waimai_10k", "online_shopping_10cats"):
        dev: list[Example] = get_corpus_split(corpus, "dev")
        scores = scorer([e.text for e in dev])
        binary = {e.label for e in dev} == {"negative", "positive"}
        predicted = [_binary(s) if binary else best_label(s) for s in scores]
        figures = score([e.label for e in dev], predicted).summary()
        click.echo(f"{corpus}: {figures}")


if __name__ == "__main__":
    main()

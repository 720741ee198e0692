"""The ``nlp`` command group: classify JSON Lines from stdin, train and evaluate classifiers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console

from scrm.nlp.build import main as build_command
from scrm.nlp.datasets import DataError, Example, get_examples
from scrm.nlp.metrics import print_report, score
from scrm.nlp.optimiser import TrainSettings
from scrm.nlp.pipelines import save_pipeline
from scrm.nlp.scoring import Scorer, best_label, load_scorer
from scrm.nlp.training import (
    AUXILIARY_WEIGHT,
    CORRECTION_WEIGHT,
    Auxiliary,
    TrainOptions,
    train_task,
    with_corrections,
)

BATCH = 256
TASKS = ("sentiment", "intent", "language")
_MODEL = click.Path(exists=True, file_okay=False, path_type=Path)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


class InputLineError(click.ClickException):
    """A line of the classify input is not a JSON object with a string ``text``."""

    exit_code = 2


def _parse_line(number: int, line: str) -> tuple[Any, str]:
    """Return (id, text) of one input line; raise :class:`InputLineError` naming the line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputLineError(f"line {number}: invalid JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise InputLineError(f'line {number}: expected an object with a string "text"')
    return record.get("id"), record["text"]


def _iter_batches(stream: TextIO) -> Iterator[tuple[list[tuple[Any, str]], InputLineError | None]]:
    """Stream (records, error) batches; a bad line ends the stream after the records before it."""
    batch: list[tuple[Any, str]] = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            batch.append(_parse_line(number, line))
        except InputLineError as error:
            yield batch, error
            return
        if len(batch) >= BATCH:
            yield batch, None
            batch = []
    yield batch, None


def _write(records: list[tuple[Any, str]], scorer: Scorer, out: TextIO) -> None:
    """Write one JSON result per record, in input order."""
    for (record_id, _), scores in zip(records, scorer([text for _, text in records]), strict=True):
        out.write(
            json.dumps({"id": record_id, "label": best_label(scores), "scores": scores}, ensure_ascii=False) + "\n"
        )
    out.flush()


def _scorer(task: str, model: Path | None) -> Scorer:
    """Load the scorer for a task, turning a missing or unsuitable model into a clean error."""
    try:
        return load_scorer(task, model)
    except (FileNotFoundError, KeyError) as error:
        raise click.ClickException(str(error.args[0] if error.args else error)) from error


@click.group(name="nlp")
def nlp() -> None:
    """Language, sentiment and intent of social-media texts."""


@nlp.command()
@click.option("--task", type=click.Choice(TASKS), required=True)
@click.option("--model", type=_MODEL, default=None, help="Trained pipeline or models folder (default: shipped).")
def classify(task: str, model: Path | None) -> None:
    """Classify JSON Lines {"id", "text"} from stdin into {"id", "label", "scores"} on stdout.

    Blank lines are skipped. An invalid line stops the run: the results of the lines before it
    are written, the error naming the line goes to stderr and the exit status is 2.
    """
    scorer = _scorer(task, model)
    for records, error in _iter_batches(sys.stdin):
        if records:
            _write(records, scorer, sys.stdout)
        if error is not None:
            raise error


def _read(path: Path, weight: float = 1.0) -> list[Example]:
    """Read a labelled file, turning data problems into a clean command-line error."""
    try:
        return get_examples(path, weight)
    except DataError as error:
        raise click.ClickException(str(error)) from error


@nlp.command()
@click.option("--task", required=True, help="Task name, e.g. sentiment, intent or your own.")
@click.option("--data", type=_FILE, required=True, help='Training JSON Lines {"text", "label"}.')
@click.option("--dev", type=_FILE, default=None, help="Dev JSON Lines (default: 10% of --data, fixed seed).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--with-corrections", "corrections", type=_FILE, default=None, help="People's corrections (JSON Lines).")
@click.option("--correction-weight", type=float, default=CORRECTION_WEIGHT, show_default=True)
@click.option(
    "--auxiliary",
    "auxiliary",
    type=_FILE,
    multiple=True,
    help="Related labelled JSON Lines; repeatable, the files make one corpus whose own model is added.",
)
@click.option("--auxiliary-weight", type=float, default=AUXILIARY_WEIGHT, show_default=True)
@click.option(
    "--naive-bayes-power",
    type=float,
    default=1.0,
    show_default=True,
    help="Strength of the NB feature scaling: 1 full, 0.5 softer (better on short posts), 0 off.",
)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--max-epochs", type=int, default=12, show_default=True)
def train(
    task: str, data: Path, dev: Path | None, out: Path, corrections: Path | None, correction_weight: float,
    auxiliary: tuple[Path, ...], auxiliary_weight: float, naive_bayes_power: float, seed: int, max_epochs: int,
) -> None:  # fmt: skip
    """Train a classifier for TASK and save it as a spaCy pipeline in OUT."""
    examples = _read(data)
    if corrections is not None:
        examples = with_corrections(examples, _read(corrections), correction_weight)
    pooled = [example for path in auxiliary for example in _read(path)]
    extra = (Auxiliary(pooled, auxiliary_weight, "+".join(path.name for path in auxiliary)),) if auxiliary else ()
    settings = TrainSettings(seed=seed, max_epochs=max_epochs)
    options = TrainOptions(task=task, settings=settings, auxiliary=extra, naive_bayes_power=naive_bayes_power)
    try:
        result = train_task(examples, _read(dev) if dev else None, options, Console(stderr=True))
    except DataError as error:
        raise click.ClickException(str(error)) from error
    save_pipeline(result.nlp, out, f"scrm_{task}", "custom")
    console = Console(file=sys.stdout, width=120)
    print_report(result.report, console, f"{task}: {result.train_size} train / {result.dev_size} dev")
    click.echo(f"saved {out}")


@nlp.command()
@click.option("--task", required=True, help="sentiment, intent, language or the task of --model.")
@click.option("--data", type=_FILE, required=True, help='Labelled JSON Lines {"text", "label"}.')
@click.option("--model", type=_MODEL, default=None, help="Trained pipeline or models folder (default: shipped).")
def evaluate(task: str, data: Path, model: Path | None) -> None:
    """Print accuracy, macro-F1, per-class figures and the confusion matrix on a labelled file."""
    examples = _read(data)
    scorer = _scorer(task, model)
    predicted = [best_label(scores) for scores in scorer([e.text for e in examples])]
    report = score([e.label for e in examples], predicted)
    print_report(report, Console(file=sys.stdout, width=120), f"{task} on {data.name}")


nlp.add_command(build_command, name="build-shipped")

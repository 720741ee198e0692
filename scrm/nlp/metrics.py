"""Score predictions against gold labels: accuracy, macro averages, per-class figures, confusions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class ClassFigures:
    """Precision, recall, F1 and gold count of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    """How well a classifier did on a labelled set."""

    labels: list[str]
    accuracy: float
    macro_f1: float
    macro_recall: float
    classes: list[ClassFigures]
    confusion: npt.NDArray[np.int64]

    def summary(self) -> dict[str, float]:
        """Return the headline figures, in percent."""
        return {
            "accuracy": round(100 * self.accuracy, 2),
            "macro_f1": round(100 * self.macro_f1, 2),
            "macro_recall": round(100 * self.macro_recall, 2),
        }


def _ratio(top: float, bottom: float) -> float:
    """Divide, reading 0/0 as 0."""
    return top / bottom if bottom else 0.0


def score(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> Report:
    """Compare predicted labels with gold labels and return the full report."""
    names = sorted(set(gold) | set(predicted)) if labels is None else list(labels)
    extra = sorted((set(gold) | set(predicted)) - set(names))
    names += extra
    index = {name: position for position, name in enumerate(names)}
    confusion = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(confusion, ([index[g] for g in gold], [index[p] for p in predicted]), 1)
    classes = []
    for position, name in enumerate(names):
        hits = float(confusion[position, position])
        precision = _ratio(hits, float(confusion[:, position].sum()))
        recall = _ratio(hits, float(confusion[position].sum()))
        f1 = _ratio(2 * precision * recall, precision + recall)
        classes.append(ClassFigures(name, precision, recall, f1, int(confusion[position].sum())))
    present = [figures for figures in classes if figures.support > 0] or classes
    return Report(
        labels=names,
        accuracy=_ratio(float(np.trace(confusion)), float(confusion.sum())),
        macro_f1=float(np.mean([figures.f1 for figures in present])) if present else 0.0,
        macro_recall=float(np.mean([figures.recall for figures in present])) if present else 0.0,
        classes=classes,
        confusion=confusion,
    )


def print_report(report: Report, console: Console, title: str = "") -> None:
    """Print the headline figures, the per-class table and the confusion matrix."""
    figures = report.summary()
    console.print(
        f"[bold]{title}[/bold] accuracy {figures['accuracy']:.2f}  macro-F1 {figures['macro_f1']:.2f}  "
        f"macro-recall {figures['macro_recall']:.2f}  (n={int(report.confusion.sum())})"
    )
    per_class = Table("label", "precision", "recall", "F1", "support")
    for row in report.classes:
        per_class.add_row(
            row.label, f"{100 * row.precision:.1f}", f"{100 * row.recall:.1f}", f"{100 * row.f1:.1f}", str(row.support)
        )
    console.print(per_class)
    if len(report.labels) <= 20:
        matrix = Table("gold \\ predicted", *report.labels)
        for name, counts in zip(report.labels, report.confusion, strict=True):
            matrix.add_row(name, *(str(int(count)) for count in counts))
        console.print(matrix)

"""What a lesson's runs showed: each run's numbers (`RunResult`) and the verdict (`Explanation`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnist_lab import records
from mnist_lab.assignments.secrecy import ScoreWithheld, shown_evaluation
from mnist_lab.files import DamagedRunError
from mnist_lab.inspection import gradient_flow_reading, gradient_flow_table, gradient_ratios
from mnist_lab.runs import Run


@dataclass(frozen=True)
class Explanation:
    """What a lesson's runs showed.

    Attributes
    ----------
    as_expected : bool
        Whether the numbers show the effect the lesson promised.
    verdict : str
        One sentence with the key numbers.
    details : tuple of str
        One short paragraph per run or observation, built from the numbers.
    """

    as_expected: bool
    verdict: str
    details: tuple[str, ...]

    @property
    def text(self) -> str:
        """The verdict and the details as paragraphs of plain text."""
        return "\n\n".join((self.verdict, *self.details))


@dataclass(frozen=True)
class RunResult:
    """The numbers of one run that the explanations read.

    Accuracies and losses are of the last complete epoch (None where not logged, or where
    training was cut short inside its first epoch, as a diverged run is);
    ``loss_trend`` the training loss from epoch to epoch as the hints read it
    (`mnist_lab.records.loss_trend`); ``peak_loss`` is the largest batch loss seen (inf if
    it became NaN or infinite);
    ``gradient_ratio`` how many times less gradient the weakest earlier layer got than the
    last layer (see `mnist_lab.inspection.gradient_ratios`), None without gradient records;
    ``measured`` what the lesson's own `Lesson.measure` found on the run's model;
    ``scored_on`` the `mnist_lab.assignments.secrecy.Part.describe` of the test digits
    ``test_accuracy`` and ``n_test`` count while an assignment hides the others, else None.
    """

    state: str
    test_accuracy: float | None = None
    n_test: int = 10_000
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    loss_trend: tuple[float, ...] = ()
    best_val_loss: float | None = None
    best_val_epoch: int | None = None
    epochs: int = 0
    peak_loss: float | None = None
    gradient_ratio: float | None = None
    gradient_reading: str = ""
    message: str = ""
    measured: Mapping[str, Any] = field(default_factory=dict)
    scored_on: str | None = None

    @property
    def diverged(self) -> bool:
        """Whether training blew up (stopped as diverged, or a loss became NaN/infinite)."""
        return self.state == "diverged" or (
            self.peak_loss is not None and not math.isfinite(self.peak_loss)
        )

    @property
    def gap(self) -> float | None:
        """Final training minus validation accuracy: how much the network memorized."""
        if self.train_accuracy is None or self.val_accuracy is None:
            return None
        return self.train_accuracy - self.val_accuracy

    @property
    def mistakes(self) -> int | None:
        """How many test digits the run got wrong."""
        if self.test_accuracy is None:
            return None
        return round((1 - self.test_accuracy) * self.n_test)

    @classmethod
    def from_run(cls, run: Run) -> RunResult:
        """Read a run's status, metrics, evaluation and gradient records (damage tolerated).

        Its test accuracy and ``n_test`` are those every page shows: of the digits students
        can see while an assignment hides some (`mnist_lab.assignments.secrecy`), and none
        while its predictions cannot be cut to them.
        """
        status = run.status()
        try:
            evaluation = shown_evaluation(run) or {}
        except (DamagedRunError, ScoreWithheld):
            evaluation = {}
        metrics = run.metrics()
        epochs = [r for r in records.summary(metrics).records if not records.is_partial(r)]
        losses = [
            r["loss"]
            for r in metrics
            if r.get("kind") in ("batch", "epoch", "chunk") and r.get("loss") is not None
        ]
        val_losses = [(r["val_loss"], r["epoch"]) for r in epochs if r.get("val_loss") is not None]
        last = epochs[-1] if epochs else {}
        table = gradient_flow_table(metrics)
        # How many times less gradient the weakest earlier layer gets than the last one.
        ratio = float(gradient_ratios(table).max()) if table["depth"].nunique() >= 2 else None
        best = min(val_losses) if val_losses else (None, None)
        part = evaluation.get("part")
        return cls(
            state=status["state"],
            test_accuracy=evaluation.get("test_accuracy"),
            n_test=evaluation.get("n_test", 10_000),
            train_accuracy=last.get("accuracy"),
            val_accuracy=last.get("val_accuracy"),
            train_loss=last.get("loss"),
            val_loss=last.get("val_loss"),
            loss_trend=tuple(records.loss_trend(metrics)),
            best_val_loss=best[0],
            best_val_epoch=best[1],
            epochs=len(epochs),
            peak_loss=max((_finite_or_inf(loss) for loss in losses), default=None),
            gradient_ratio=ratio,
            gradient_reading=gradient_flow_reading(table) if ratio is not None else "",
            message=status.get("message", ""),
            scored_on=None if part is None else part.describe(),
        )


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf

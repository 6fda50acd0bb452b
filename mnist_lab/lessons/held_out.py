"""The lesson on the held-out score: why the best run on the visible digits drops on hidden ones.

An assignment cuts the test split in two (`mnist_lab.assignments.heldout`): every page scores on
the visible part, the grade comes from the hidden part. Picking the best of many runs by their
visible score picks their luck on those digits too, so the winner's visible score is too
good. This lesson measures it twice, on the real test split's two parts: with models of known
accuracy that differ only by luck (a quick computation, no training), and with the lab's own
finished runs, scored on both parts from their saved predictions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mnist_lab.assignments.heldout import HIDDEN_SHARE, cut, part_scores
from mnist_lab.lessons.results import Explanation

TITLE = "Why does the best run score lower on the hidden digits?"
QUESTION = (
    "An assignment cuts the test digits in two: a visible part that every page scores on, and "
    "a hidden part the grade comes from after the deadline. If many runs are tried and the "
    "best one on the visible part is kept, how does it do on the hidden part?"
)
EXPECT = (
    "The kept run's visible score is a little too good: picking the best of many scores on "
    "the same digits also picks the luckiest. On the hidden digits it falls back to what it "
    "really is, so the hidden score is lower."
)
# The lesson's own cut of the test split, fixed so its numbers read the same on every visit.
LESSON_CUT = "lesson-held-out"
# The quick computation: this many models, each right on this share of digits.
MODELS = 100
ACCURACY = 0.95
SEED = 0
# How many models are compared, on the chart: the gap grows with their number.
COMPARED = (1, 2, 5, 10, 20, 50, 100)
# Fewer finished runs than this say little about picking among them.
MIN_RUNS = 3


@dataclass(frozen=True)
class Picked:
    """Models scored on both parts of the test split, and the one picked by its visible score.

    Attributes
    ----------
    names : tuple of str
        One per model.
    visible, hidden : numpy.ndarray
        Each model's accuracy on the visible part and on the hidden part.
    n_visible, n_hidden : int
        Digits in each part.
    """

    names: tuple[str, ...]
    visible: np.ndarray
    hidden: np.ndarray
    n_visible: int
    n_hidden: int

    @property
    def best(self) -> int:
        """The index of the model with the best visible score (the first of equals)."""
        return int(np.argmax(self.visible))

    @property
    def gap(self) -> float:
        """The picked model's visible score less its hidden score."""
        return float(self.visible[self.best] - self.hidden[self.best])

    @property
    def hidden_rank(self) -> int:
        """The picked model's place on the hidden part (1 = best there too)."""
        return int(np.sum(self.hidden > self.hidden[self.best])) + 1


def lesson_cut(n_test: int) -> np.ndarray:
    """The lesson's hidden part of ``n_test`` test digits, as an assignment would cut it."""
    return cut(LESSON_CUT, n_test, HIDDEN_SHARE)


def lucky_models(
    n_test: int, n_models: int = MODELS, accuracy: float = ACCURACY, seed: int = SEED
) -> Picked:
    """Models exactly ``accuracy`` good, each wrong on its own random digits, on both parts.

    Parameters
    ----------
    n_test : int
        Test digits, cut by `lesson_cut`.
    n_models : int, default `MODELS`
    accuracy : float, default `ACCURACY`
        Each model is right on each digit with this chance: they differ only by luck.
    seed : int, default `SEED`

    Returns
    -------
    Picked

    Examples
    --------
    >>> picked = lucky_models(10_000)
    >>> bool(picked.visible[picked.best] > ACCURACY), picked.n_visible
    (True, 5000)
    """
    hidden = lesson_cut(n_test)
    right = np.random.default_rng(seed).random((n_models, n_test)) < accuracy
    return Picked(
        names=tuple(f"model {number}" for number in range(1, n_models + 1)),
        visible=right[:, ~hidden].mean(axis=1),
        hidden=right[:, hidden].mean(axis=1),
        n_visible=int((~hidden).sum()),
        n_hidden=int(hidden.sum()),
    )


def growing_gap(picked: Picked, compared: tuple[int, ...] = COMPARED) -> list[dict]:
    """The picked model's two scores as more models are compared (the first ``n`` of them).

    Returns
    -------
    list of dict
        ``{"models", "visible", "hidden"}`` for each ``n`` of ``compared`` up to the models.
    """
    rows = []
    for n in (n for n in compared if n <= len(picked.names)):
        best = int(np.argmax(picked.visible[:n]))
        rows.append(
            {
                "models": n,
                "visible": float(picked.visible[best]),
                "hidden": float(picked.hidden[best]),
            }
        )
    return rows


def runs_on_parts(y_test: np.ndarray, probabilities: Mapping[str, np.ndarray]) -> Picked:
    """Finished runs scored on the lesson's two parts from their saved test probabilities.

    Parameters
    ----------
    y_test : numpy.ndarray
        The dataset's own test labels.
    probabilities : mapping
        Run name -> its ``(n_test, n_classes)`` test probabilities, on the same dataset.
    """
    hidden = lesson_cut(len(y_test))
    scores = [part_scores(y_test, p, hidden) for p in probabilities.values()]
    return Picked(
        names=tuple(probabilities),
        visible=np.array([visible.accuracy for visible, _ in scores]),
        hidden=np.array([hidden_part.accuracy for _, hidden_part in scores]),
        n_visible=int((~hidden).sum()),
        n_hidden=int(hidden.sum()),
    )


def wobble(accuracy: float, n: int) -> float:
    """How much a score of ``accuracy`` on ``n`` digits moves by luck (one standard error).

    Examples
    --------
    >>> round(wobble(0.95, 5000), 4)
    0.0031
    """
    return math.sqrt(accuracy * (1 - accuracy) / n)


def explain_held_out(models: Picked, runs: Picked | None) -> Explanation:
    """The lesson's verdict and paragraphs, worded from the two measurements.

    Parameters
    ----------
    models : Picked
        `lucky_models`.
    runs : Picked or None
        `runs_on_parts` of the lab's finished runs; None when there are too few.
    """
    best = models.best
    n = len(models.names)
    spread = wobble(ACCURACY, models.n_visible)
    lucky = 100 * (models.visible[best] - ACCURACY)
    verdict = (
        f"The best of {n} equally good models scored {models.visible[best]:.2%} on the "
        f"visible digits, {lucky:.2f} percentage points above the {ACCURACY:.0%} it really "
        f"is, and {models.hidden[best]:.2%} on the hidden ones."
    )
    details = [
        f"Each of the {n} models is right on exactly {ACCURACY:.0%} of digits in the long run, "
        f"wrong on its own random ones. On the {models.n_visible:,} visible digits their "
        f"scores spread from {models.visible.min():.2%} to {models.visible.max():.2%} by luck "
        f"alone: a score on {models.n_visible:,} digits moves by about ±{spread:.2%}.",
        f"Keeping the one that scored best on the visible part keeps the luckiest, not a "
        f"better one: on the {models.n_hidden:,} hidden digits it scored "
        f"{models.hidden[best]:.2%}, where the models' average is {models.hidden.mean():.2%}.",
    ]
    if runs is not None:
        leader = runs.best
        details.append(
            f"The lab's own {len(runs.names)} finished runs on the same two parts: the leader "
            f"on the visible part, {runs.names[leader]}, scored {runs.visible[leader]:.2%} "
            f"there and {runs.hidden[leader]:.2%} on the hidden part "
            f"({-runs.gap:+.2%}); on the hidden part it ranks {runs.hidden_rank} of "
            f"{len(runs.names)}."
        )
    details.append(
        "The more runs are compared on the same digits, the larger the gap: the hidden part, "
        "looked at once after the deadline, is the honest score. Choosing between runs on a "
        "validation split instead keeps the test digits honest too."
    )
    return Explanation(models.gap > 0, verdict, tuple(details))

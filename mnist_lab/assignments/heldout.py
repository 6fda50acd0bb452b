"""The held-out score: an assignment's test split cut once into a visible and a hidden part.

Like a class competition's private leaderboard: every page shows scores on the visible part,
and the assignment is graded on the hidden part after its deadline, so picking the best of many
runs on the same test digits does not pass for skill. The cut is seeded from the assignment's
id and stored in its file; scores come from each run's saved ``predictions.npz``, so nothing
is trained or predicted again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Score:
    """A run's score on one part of the test split.

    Attributes
    ----------
    accuracy : float
        Share of the part's digits classified right.
    loss : float
        Mean cross-entropy on the part.
    n : int
        Digits in the part.
    """

    accuracy: float
    loss: float
    n: int


def cut(assignment_id: str, n_test: int, hidden_share: float) -> np.ndarray:
    """The indices of the hidden part of ``n_test`` test digits, seeded from ``assignment_id``.

    Parameters
    ----------
    assignment_id : str
    n_test : int
    hidden_share : float
        In (0, 1).

    Returns
    -------
    numpy.ndarray
        ``n_test`` booleans, True for the hidden part: ``round(n_test * hidden_share)`` of
        them (at least one, and at least one digit left visible).
    """
    raise NotImplementedError


def part_scores(
    y_true: np.ndarray, probabilities: np.ndarray, hidden: np.ndarray
) -> tuple[Score, Score]:
    """The scores on the visible part and on the hidden part.

    Parameters
    ----------
    y_true : numpy.ndarray
        The test labels of the assignment's dataset.
    probabilities : numpy.ndarray
        A run's saved test probabilities, ``(n_test, n_classes)``.
    hidden : numpy.ndarray
        Booleans, True for the hidden part (`cut`).

    Returns
    -------
    visible, hidden : Score
    """
    raise NotImplementedError

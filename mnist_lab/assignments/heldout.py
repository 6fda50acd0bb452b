"""The held-out score: an assignment's test split cut once into a visible and a hidden part.

Like a class competition's private leaderboard: every page shows scores on the visible part,
and the assignment is graded on the hidden part after its deadline, so picking the best of many
runs on the same test digits does not pass for skill. The cut is seeded from the dataset, so
every assignment on one dataset hides the same digits and the pages' visible part stays one
(`secrecy`), and it is stored in the assignment's file; scores come from each run's saved
``predictions.npz``, so nothing is trained or predicted again.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_lab.data import EMBEDDED_SHA256, load_mnist
from mnist_lab.datasets import DatasetStore
from mnist_lab.evaluation import cross_entropy

# The share of the test split hidden from students until the deadline.
HIDDEN_SHARE = 0.5


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


def cut(seed_text: str, n_test: int, hidden_share: float) -> np.ndarray:
    """Which of ``n_test`` test digits are hidden, drawn with a seed from ``seed_text``.

    Parameters
    ----------
    seed_text : str
        The dataset's SHA-256 (`store.AssignmentStore.create`).
    n_test : int
    hidden_share : float
        In (0, 1).

    Returns
    -------
    numpy.ndarray
        ``n_test`` booleans, True for the hidden part: ``round(n_test * hidden_share)`` of
        them (at least one, and at least one digit left visible).
    """
    if not 0 < hidden_share < 1 or n_test < 2:
        raise ValueError(f"cannot hide {hidden_share:g} of {n_test} test digits")
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "big")
    n_hidden = min(max(round(n_test * hidden_share), 1), n_test - 1)
    hidden = np.zeros(n_test, dtype=bool)
    hidden[np.random.default_rng(seed).permutation(n_test)[:n_hidden]] = True
    return hidden


def dataset_cut(sha256: str, n_test: int) -> np.ndarray:
    """The hidden part every assignment on the dataset ``sha256`` cuts: `cut` seeded by it.

    What it leaves visible is also where the robustness curves sample their digits, so no
    page's figure counts a digit an assignment could hide.
    """
    return cut(sha256, n_test, HIDDEN_SHARE)


def packed(hidden: np.ndarray) -> str:
    """``hidden``'s booleans packed eight to a byte, in hex (as an assignment file keeps them)."""
    return np.packbits(hidden).tobytes().hex()


def unpacked(text: str, n_test: int) -> np.ndarray:
    """The ``n_test`` booleans `packed` wrote.

    Raises
    ------
    ValueError
        If ``text`` is not hex of the right length or hides no digit or every digit.
    """
    if not isinstance(text, str) or len(text) != 2 * math.ceil(n_test / 8):
        raise ValueError(f"the hidden part is not {n_test} packed bits")
    hidden = np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))[:n_test]
    if not 0 < hidden.sum() < n_test:
        raise ValueError("the hidden part holds no digit, or every digit")
    return hidden.astype(bool)


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
    return _score(y_true[~hidden], probabilities[~hidden]), _score(
        y_true[hidden], probabilities[hidden]
    )


def _score(y_true: np.ndarray, probabilities: np.ndarray) -> Score:
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y_true))
    return Score(accuracy, cross_entropy(y_true, probabilities), len(y_true))


def test_labels(runs_root: Path, dataset: dict) -> np.ndarray:
    """The test labels of ``dataset`` (``{"name", "sha256"}``), as the dataset itself holds them.

    Graded against these, never against the labels a run saved beside its predictions.

    Raises
    ------
    KeyError
        If the dataset is no longer stored.
    DamagedRunError
        If it is damaged.
    """
    return _labels(str(runs_root), dataset["sha256"])


# A dataset's content is named by its hash, so its labels never change: a few are kept.
@functools.lru_cache(maxsize=4)
def _labels(runs_root: str, sha256: str) -> np.ndarray:
    if sha256 == EMBEDDED_SHA256:
        return load_mnist().y_test
    return DatasetStore(runs_root).get(sha256).y_test

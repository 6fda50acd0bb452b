"""The class scores an engine can differentiate with respect to its input pixels.

A classifier's *logit* for a class is its score before the softmax; its *log-probability*
is the logit minus the log of the sum of every class's exp(logit). Saliency explains the
logit; an adversarial attack climbs the log-probability of the digit it aims for.
`logit_seed` is the first step of the chain rule that every engine's `input_gradient` takes.
"""

from __future__ import annotations

import numpy as np

SCORES = ("logit", "log_probability")


def check_score(score: str) -> str:
    """Return ``score`` if it is one of `SCORES`, else raise ``ValueError`` naming them."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {list(SCORES)}, got {score!r}")
    return score


def class_indices(class_index: int | np.ndarray, n: int) -> np.ndarray:
    """One class per image: ``class_index`` broadcast to ``n`` int64 values, checked.

    Raises
    ------
    ValueError
        If a class is outside 0-9 or there are more or fewer than ``n`` of them.

    Examples
    --------
    >>> class_indices(3, 2).tolist()
    [3, 3]
    """
    classes = np.asarray(class_index, dtype=np.int64)
    if classes.ndim == 0:
        classes = np.full(n, int(classes), dtype=np.int64)
    if classes.shape != (n,):
        raise ValueError(f"class_index must be one class or {n} classes, got {classes.shape}")
    if n and (classes.min() < 0 or classes.max() > 9):
        raise ValueError(f"class_index must be digits 0-9, got {sorted(set(classes.tolist()))}")
    return classes


def logit_seed(probabilities: np.ndarray, classes: np.ndarray, score: str) -> np.ndarray:
    """d score / d logits for each image: where the chain rule starts, per row.

    Parameters
    ----------
    probabilities : numpy.ndarray
        The softmax of the logits, shape ``(n, 10)``.
    classes : numpy.ndarray
        The class whose score each row differentiates, shape ``(n,)``.
    score : {"logit", "log_probability"}

    Returns
    -------
    numpy.ndarray
        float64 ``(n, 10)``: one-hot of the class for its logit; for its log-probability
        ``onehot - probabilities``, since d log p_c / d z_k = 1[k == c] - p_k.

    Examples
    --------
    >>> logit_seed(np.array([[0.25, 0.75]]), np.array([1]), "log_probability").tolist()
    [[-0.25, 0.25]]
    """
    check_score(score)
    seed = np.zeros(np.shape(probabilities), dtype=np.float64)
    seed[np.arange(len(seed)), classes] = 1.0
    if score == "log_probability":
        seed -= probabilities
    return seed

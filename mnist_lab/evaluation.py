"""Judging a trained model on the test set: accuracy, loss, confusion matrix, per-class metrics.

Every engine (Keras, scikit-learn, NumPy) ends by calling `write_evaluation`, so every run's
``evaluation.json`` and ``predictions.npz`` have the same format.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_lab.files import DamagedRunError, atomic_write_bytes, read_arrays, read_json

if TYPE_CHECKING:
    from mnist_lab.runs import Run

EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.npz"
# The fields of a class's entry in ``per_class`` that are shares in [0, 1].
PER_CLASS_SHARES = ("precision", "recall", "f1")

N_CLASSES = 10
# What guessing scores on ten classes: a cross-entropy of ln 10 (and 10% accuracy).
CHANCE_LOSS = math.log(N_CLASSES)
# Below this accuracy a model is no better than guessing, give or take noise.
CHANCE_LEVEL_ACCURACY = 0.2


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Count how often each true class (row) was predicted as each class (column).

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray
        Integer labels in ``0..n_classes-1``, same length.
    n_classes : int, default 10

    Returns
    -------
    numpy.ndarray
        int64 array of shape ``(n_classes, n_classes)``.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), n_classes=2).tolist()
    [[1, 0], [1, 1]]
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(
        n_classes, n_classes
    )


def per_class_metrics(matrix: np.ndarray) -> list[dict]:
    """Precision, recall, F1 and support of every class, from a confusion matrix.

    A class never predicted (or never present) gets 0.0 rather than a division by zero.

    Parameters
    ----------
    matrix : numpy.ndarray
        Confusion matrix, true classes in rows.

    Returns
    -------
    list of dict
        One ``{"digit", "precision", "recall", "f1", "support"}`` per class.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    hits = np.diag(matrix)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return [
        {
            "digit": digit,
            "precision": float(precision[digit]),
            "recall": float(recall[digit]),
            "f1": float(f1[digit]),
            "support": int(support[digit]),
        }
        for digit in range(len(matrix))
    ]


def cross_entropy(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes (clipped so a 0 probability is finite)."""
    picked = probabilities[np.arange(len(y_true)), np.asarray(y_true, dtype=np.int64)]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def summarize(
    y_true: np.ndarray, probabilities: np.ndarray, test_loss: float | None = None
) -> dict:
    """The JSON-ready evaluation of a model's predicted probabilities on the test set.

    Parameters
    ----------
    y_true : numpy.ndarray
        True labels, shape ``(n,)``.
    probabilities : numpy.ndarray
        Predicted class probabilities, shape ``(n, 10)``.
    test_loss : float, optional
        The model's own test loss; the cross-entropy of ``probabilities`` when omitted.

    Returns
    -------
    dict
        ``test_accuracy``, ``test_loss``, ``n_test``, ``confusion_matrix`` (list of lists),
        ``per_class`` (see `per_class_metrics`), ``predictions`` (predicted label per
        sample) and ``confidence`` (its probability).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(
            f"probabilities must have shape ({len(y_true)}, n_classes), got {probabilities.shape}"
        )
    y_pred = probabilities.argmax(axis=1)
    matrix = confusion_matrix(y_true, y_pred, probabilities.shape[1])
    loss = cross_entropy(y_true, probabilities) if test_loss is None else float(test_loss)
    return {
        "test_accuracy": float(np.mean(y_pred == np.asarray(y_true))),
        "test_loss": loss,
        "n_test": int(len(y_true)),
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class_metrics(matrix),
        "predictions": y_pred.tolist(),
        "confidence": np.round(probabilities.max(axis=1), 5).tolist(),
    }


def check_evaluation(data: dict) -> dict:
    """Return ``evaluation.json``'s content if every field the pages use is well formed.

    Parameters
    ----------
    data : dict
        As read from the file.

    Raises
    ------
    DamagedRunError
        Naming the field that is missing or malformed: accuracy and loss must be numbers,
        the confusion matrix square (one row per class, at least two) with counts adding up
        to ``n_test``, the per-sample lists ``n_test`` long.

    Examples
    --------
    >>> check_evaluation({"test_accuracy": "abc"})
    Traceback (most recent call last):
    mnist_lab.files.DamagedRunError: evaluation.json's test_accuracy is not a number in [0, 1]
    """

    def fail(what: str):
        raise DamagedRunError(f"{EVALUATION_FILE}'s {what}")

    accuracy, loss, n_test = (data.get(k) for k in ("test_accuracy", "test_loss", "n_test"))
    if not _is_number(accuracy) or not 0 <= accuracy <= 1:
        fail("test_accuracy is not a number in [0, 1]")
    if not _is_number(loss) or math.isnan(loss) or loss < 0:
        fail("test_loss is not a number >= 0")
    if not isinstance(n_test, int) or isinstance(n_test, bool) or n_test < 1:
        fail("n_test is not a whole number >= 1")
    matrix = data.get("confusion_matrix")
    rows_ok = isinstance(matrix, list) and len(matrix) >= 2
    if not rows_ok or any(not isinstance(row, list) or len(row) != len(matrix) for row in matrix):
        fail("confusion_matrix is not a square table of counts, one row per class")
    counts = [count for row in matrix for count in row]
    if any(not isinstance(c, int) or isinstance(c, bool) or c < 0 for c in counts):
        fail("confusion_matrix holds something else than counts")
    if sum(counts) != n_test:
        fail(f"confusion_matrix counts {sum(counts)} digits, not n_test = {n_test}")
    for key in ("predictions", "confidence"):
        if key in data and (not isinstance(data[key], list) or len(data[key]) != n_test):
            fail(f"{key} is not a list of n_test = {n_test} values")
    n_classes = len(matrix)
    if any(not _is_class(label, n_classes) for label in data.get("predictions", ())):
        fail(f"predictions holds something else than classes 0-{n_classes - 1}")
    if any(not _is_number(p) or not 0 <= p <= 1 for p in data.get("confidence", ())):
        fail("confidence holds something else than probabilities")
    per_class = data.get("per_class", [])
    if not isinstance(per_class, list) or not all(_is_class_row(row) for row in per_class):
        fail("per_class is not a list of each class's precision, recall, F1 and support")
    names = data.get("class_names", [str(n) for n in range(n_classes)])
    if not isinstance(names, list) or len(names) != n_classes:
        fail(f"class_names is not a list of {n_classes} names")
    if not all(isinstance(name, str) for name in names):
        fail("class_names holds something else than names")
    return data


def _is_class(label, n_classes: int) -> bool:
    return isinstance(label, int) and not isinstance(label, bool) and 0 <= label < n_classes


def _is_class_row(row) -> bool:
    """Whether ``row`` is one class's entry of ``per_class`` (see `per_class_metrics`)."""
    if not isinstance(row, dict) or not _is_class(row.get("digit"), 2**31):
        return False
    if not _is_class(row.get("support"), 2**53):
        return False
    return all(_is_number(row.get(key)) and 0 <= row[key] <= 1 for key in PER_CLASS_SHARES)


def read_checked(path: Path) -> dict:
    """Read an ``evaluation.json`` and check it (`check_evaluation`).

    Raises
    ------
    DamagedRunError
        If it is unreadable or malformed.
    """
    return check_evaluation(read_json(path))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def write_evaluation(
    run: Run,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    test_loss: float | None = None,
    class_names: tuple[str, ...] | None = None,
    predict_seconds: float | None = None,
) -> dict:
    """Save ``evaluation.json`` and ``predictions.npz`` (all probabilities) into ``run``.

    Parameters
    ----------
    run : Run
    y_true : numpy.ndarray
        True labels, shape ``(n,)``.
    probabilities : numpy.ndarray
        Predicted class probabilities, shape ``(n, n_classes)``.
    test_loss : float, optional
        The model's own test loss (see `summarize`).
    class_names : tuple of str, optional
        The dataset's class names, recorded as ``class_names`` for readers without the data.
    predict_seconds : float, optional
        How long the model took to predict these test digits, recorded as
        ``predict_seconds`` (optional: runs trained before it was recorded lack it).

    Returns
    -------
    dict
        The evaluation written (see `summarize`).
    """
    evaluation = summarize(y_true, probabilities, test_loss)
    if class_names is not None:
        evaluation["class_names"] = list(class_names)
    if predict_seconds is not None:
        evaluation["predict_seconds"] = round(float(predict_seconds), 4)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        probabilities=np.asarray(probabilities, dtype=np.float32),
        y_true=np.asarray(y_true, dtype=np.uint8),
    )
    atomic_write_bytes(run.file(PREDICTIONS_FILE), buffer.getvalue())
    run.write_json(EVALUATION_FILE, evaluation)
    return evaluation


def write_timed_evaluation(
    run: Run,
    y_true: np.ndarray,
    predict: Callable[[], np.ndarray],
    class_names: tuple[str, ...] | None = None,
) -> dict:
    """`write_evaluation` of what ``predict()`` returns, recording how long it took.

    ``predict`` returns the class probabilities of the test digits whose labels are
    ``y_true``; ``run`` and ``class_names`` are as `write_evaluation` takes them. Returns
    the evaluation written, with its ``predict_seconds``.
    """
    started = time.perf_counter()
    probabilities = predict()
    seconds = time.perf_counter() - started
    return write_evaluation(
        run, y_true, probabilities, class_names=class_names, predict_seconds=seconds
    )


def evaluated_words(evaluation: dict) -> str:
    """What a run's final status message says of its evaluation: where, never a score.

    The score has its own place on every page, which shows it on the digits students may
    see while an assignment hides some (`mnist_lab.assignments.secrecy`); a message that
    quoted the whole split's score beside it would give the hidden digits' score away.

    Examples
    --------
    >>> evaluated_words({"n_test": 10000})
    'evaluated on the 10,000 test images'
    """
    return f"evaluated on the {evaluation['n_test']:,} test images"


def load_probabilities(run: Run) -> np.ndarray:
    """The per-sample test probabilities a run saved, shape ``(n_test, 10)``, float32."""
    return load_predictions(run)[1]


def load_predictions(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The true test labels and predicted probabilities a run saved in ``predictions.npz``.

    Returns
    -------
    y_true : numpy.ndarray
        uint8 labels, shape ``(n_test,)``.
    probabilities : numpy.ndarray
        float32, shape ``(n_test, 10)``.

    Raises
    ------
    DamagedRunError
        If the file is missing, truncated or malformed, or disagrees with ``evaluation.json``.
    """
    try:
        arrays = read_arrays(run.file(PREDICTIONS_FILE), ("y_true", "probabilities"))
    except FileNotFoundError:
        raise DamagedRunError(f"{PREDICTIONS_FILE} is missing") from None
    y_true, probabilities = arrays["y_true"], arrays["probabilities"]
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise DamagedRunError(
            f"{PREDICTIONS_FILE} holds {len(y_true)} labels but probabilities {probabilities.shape}"
        )
    n_classes = probabilities.shape[1]
    if n_classes < 2 or not np.all(np.isfinite(probabilities)):
        raise DamagedRunError(f"{PREDICTIONS_FILE} holds no finite class probabilities")
    if y_true.dtype.kind not in "iu" or np.any((y_true < 0) | (y_true >= n_classes)):
        raise DamagedRunError(f"{PREDICTIONS_FILE} holds labels outside 0-{n_classes - 1}")
    evaluation = run.evaluation()
    if evaluation is not None and (evaluation["n_test"], len(evaluation["confusion_matrix"])) != (
        len(y_true),
        n_classes,
    ):
        raise DamagedRunError(
            f"{PREDICTIONS_FILE} holds {len(y_true)} predictions of {n_classes} classes but "
            f"{EVALUATION_FILE} counts {evaluation['n_test']} test digits of "
            f"{len(evaluation['confusion_matrix'])} classes"
        )
    return y_true, probabilities


def normalized_confusion(matrix: np.ndarray) -> np.ndarray:
    """Divide each row of a confusion matrix by its total: the share of each true class.

    A row with no samples stays all zeros.

    Examples
    --------
    >>> normalized_confusion(np.array([[3, 1], [0, 0]])).tolist()
    [[0.75, 0.25], [0.0, 0.0]]
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def per_digit_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Share of each true class that was predicted correctly (the diagonal of the row shares).

    Examples
    --------
    >>> per_digit_accuracy(np.array([[3, 1], [2, 2]])).tolist()
    [0.75, 0.5]
    """
    return np.diag(normalized_confusion(matrix))


def most_confused_pairs(matrix: np.ndarray, top: int = 10) -> list[tuple[int, int, int]]:
    """The off-diagonal cells with the most mistakes, largest first.

    Parameters
    ----------
    matrix : numpy.ndarray
        Confusion matrix, true classes in rows.
    top : int, default 10
        How many pairs at most; cells with no mistakes are never listed.

    Returns
    -------
    list of tuple
        ``(true, predicted, count)``, ties broken by true then predicted class.

    Examples
    --------
    >>> most_confused_pairs(np.array([[5, 2, 0], [1, 5, 2], [0, 0, 5]]), top=2)
    [(0, 1, 2), (1, 2, 2)]
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    true, predicted = np.nonzero(matrix * (1 - np.eye(len(matrix), dtype=np.int64)))
    counts = matrix[true, predicted]
    # lexsort sorts by its last key first: count descending, then true, then predicted.
    order = np.lexsort((predicted, true, -counts))[:top]
    return [(int(true[i]), int(predicted[i]), int(counts[i])) for i in order]


def cell_indices(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    true_digit: int | None = None,
    predicted_digit: int | None = None,
    confidence: np.ndarray | None = None,
    mistakes_only: bool = False,
) -> np.ndarray:
    """Indices of the test samples in one confusion cell, a row, a column, or the mistakes.

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray
        True and predicted labels, shape ``(n,)``.
    true_digit, predicted_digit : int, optional
        Keep only samples of this true / predicted class; None keeps every class.
    confidence : numpy.ndarray, optional
        The model's confidence per sample; when given, the most confident come first
        (ties by index), otherwise indices ascend.
    mistakes_only : bool, default False
        Keep only misclassified samples.

    Returns
    -------
    numpy.ndarray
        int64 indices into the test set.

    Examples
    --------
    >>> y_true, y_pred = np.array([1, 1, 2, 1]), np.array([2, 1, 2, 2])
    >>> cell_indices(y_true, y_pred, 1, 2, confidence=np.array([0.6, 0.9, 0.9, 0.8])).tolist()
    [3, 0]
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    keep = np.ones(len(y_true), dtype=bool)
    if true_digit is not None:
        keep &= y_true == true_digit
    if predicted_digit is not None:
        keep &= y_pred == predicted_digit
    if mistakes_only:
        keep &= y_true != y_pred
    indices = np.flatnonzero(keep)
    if confidence is not None:
        indices = indices[np.argsort(-np.asarray(confidence)[indices], kind="stable")]
    return indices


def misclassified_indices(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    confidence: np.ndarray,
    true_digit: int | None = None,
    predicted_digit: int | None = None,
) -> np.ndarray:
    """Indices of the misclassified samples, most confident mistakes first.

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray
        True and predicted labels, shape ``(n,)``.
    confidence : numpy.ndarray
        Probability the model gave its prediction, shape ``(n,)``.
    true_digit, predicted_digit : int, optional
        Filters, as in `cell_indices`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> y_true, y_pred = np.array([0, 1, 2]), np.array([1, 1, 0])
    >>> misclassified_indices(y_true, y_pred, confidence=np.array([0.6, 0.9, 0.8])).tolist()
    [2, 0]
    """
    return cell_indices(y_true, y_pred, true_digit, predicted_digit, confidence, mistakes_only=True)


def confusion_difference(matrix_a: np.ndarray, matrix_b: np.ndarray) -> np.ndarray:
    """``matrix_a - matrix_b`` as int64: positive cells are where model A puts more samples.

    On the diagonal, positive means A gets more of that digit right; off the diagonal,
    positive means A makes that mistake more often.

    Raises
    ------
    ValueError
        If the matrices differ in shape or the two models saw test sets of different sizes.
    """
    matrix_a, matrix_b = np.asarray(matrix_a, np.int64), np.asarray(matrix_b, np.int64)
    if matrix_a.shape != matrix_b.shape:
        raise ValueError(
            f"confusion matrices differ in shape: {matrix_a.shape} vs {matrix_b.shape}"
        )
    if matrix_a.sum() != matrix_b.sum():
        raise ValueError(
            f"the runs were tested on different sets ({matrix_a.sum()} vs {matrix_b.sum()} samples)"
        )
    return matrix_a - matrix_b


def disagreements(
    y_true: np.ndarray, y_pred_a: np.ndarray, y_pred_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The samples one model gets right and the other wrong.

    Returns
    -------
    only_a : numpy.ndarray
        Indices A classifies correctly and B does not.
    only_b : numpy.ndarray
        Indices B classifies correctly and A does not.

    Examples
    --------
    >>> y_true, y_a, y_b = np.array([0, 1, 2]), np.array([0, 1, 0]), np.array([0, 0, 2])
    >>> only_a, only_b = disagreements(y_true, y_a, y_b)
    >>> only_a.tolist(), only_b.tolist()
    ([1], [2])
    """
    y_true, y_pred_a, y_pred_b = (np.asarray(a) for a in (y_true, y_pred_a, y_pred_b))
    if not y_true.shape == y_pred_a.shape == y_pred_b.shape:
        raise ValueError(
            f"labels differ in shape: {y_true.shape}, {y_pred_a.shape}, {y_pred_b.shape}"
        )
    right_a, right_b = y_pred_a == y_true, y_pred_b == y_true
    return np.flatnonzero(right_a & ~right_b), np.flatnonzero(right_b & ~right_a)


def confusion_csv(matrix: np.ndarray) -> str:
    """A confusion matrix as CSV text: header ``true/predicted,0..9``, one row per true class.

    Examples
    --------
    >>> print(confusion_csv(np.array([[1, 0], [2, 3]])), end="")
    true/predicted,0,1
    0,1,0
    1,2,3
    """
    matrix = np.asarray(matrix)
    lines = ["true/predicted," + ",".join(str(c) for c in range(matrix.shape[1]))]
    lines += [f"{digit}," + ",".join(f"{v:g}" for v in row) for digit, row in enumerate(matrix)]
    return "\n".join(lines) + "\n"


def predictions_csv(
    y_true: np.ndarray, probabilities: np.ndarray, indices: np.ndarray | None = None
) -> str:
    """Per-sample predictions as CSV: ``index,true,predicted,confidence,p0..p9``.

    ``indices`` are the rows' digits in the test split (0, 1, ... when omitted).

    Examples
    --------
    >>> print(predictions_csv(np.array([1]), np.array([[0.25, 0.75]]), np.array([7])), end="")
    index,true,predicted,confidence,p0,p1
    7,1,1,0.75000,0.25000,0.75000
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    header = "index,true,predicted,confidence," + ",".join(
        f"p{c}" for c in range(probabilities.shape[1])
    )
    indices = np.arange(len(y_true)) if indices is None else indices
    table = np.column_stack([indices, y_true, predicted, probabilities.max(axis=1), probabilities])
    buffer = io.StringIO()
    formats = ["%d"] * 3 + ["%.5f"] * (1 + probabilities.shape[1])
    np.savetxt(buffer, table, delimiter=",", header=header, comments="", fmt=formats)
    return buffer.getvalue()

"""Judging a trained model on the test set: accuracy, loss, confusion matrix, per-class metrics.

Every engine (Keras, scikit-learn, NumPy) ends by calling `write_evaluation`, so every run's
``evaluation.json`` and ``predictions.npz`` have the same format.
"""

from __future__ import annotations

import io

import numpy as np

from mnist_lab.runs import EVALUATION_FILE, PREDICTIONS_FILE, Run, atomic_write_bytes

N_CLASSES = 10


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
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


def summarize(y_true: np.ndarray, probabilities: np.ndarray, test_loss: float | None = None) -> dict:
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


def write_evaluation(
    run: Run, y_true: np.ndarray, probabilities: np.ndarray, test_loss: float | None = None
) -> dict:
    """Save ``evaluation.json`` and ``predictions.npz`` (all probabilities) into ``run``.

    Returns
    -------
    dict
        The evaluation written (see `summarize`).
    """
    evaluation = summarize(y_true, probabilities, test_loss)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        probabilities=np.asarray(probabilities, dtype=np.float32),
        y_true=np.asarray(y_true, dtype=np.uint8),
    )
    atomic_write_bytes(run.file(PREDICTIONS_FILE), buffer.getvalue())
    run.write_json(EVALUATION_FILE, evaluation)
    return evaluation


def load_probabilities(run: Run) -> np.ndarray:
    """The per-sample test probabilities a run saved, shape ``(n_test, 10)``, float32."""
    with np.load(run.file(PREDICTIONS_FILE), allow_pickle=False) as archive:
        return archive["probabilities"]

"""Calibration: when a model says 90%, is it right nine times in ten?

The confidences are the probabilities of the predicted digits. Binned into equal-width
intervals, each bin's accuracy against its mean confidence is the reliability diagram
(`sklearn.calibration.calibration_curve` on "was the prediction right"); the expected
calibration error (ECE) is the gap between the two, averaged over bins weighted by how many
predictions fall in each. A perfectly calibrated model has an ECE of 0 and its diagram on
the diagonal; most networks trained with cross-entropy are a little overconfident.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BINS = 10


@dataclass(frozen=True)
class Calibration:
    """How well a model's confidences match its accuracy on the test digits.

    Attributes
    ----------
    bin_edges : numpy.ndarray
        ``n_bins + 1`` edges from 0 to 1.
    counts : numpy.ndarray
        Predictions per bin.
    confidence, accuracy : numpy.ndarray
        Mean confidence and share of right predictions per bin (NaN for an empty bin).
    ece : float
        Expected calibration error: ``sum(counts * |accuracy - confidence|) / n``.
    mean_confidence, overall_accuracy : float
        Over all predictions; confidence above accuracy means overconfident.
    """

    bin_edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float
    mean_confidence: float
    overall_accuracy: float

    @property
    def reading(self) -> str:
        """One sentence that says what the numbers mean."""
        gap = self.mean_confidence - self.overall_accuracy
        lean = "overconfident" if gap > 0 else "underconfident"
        return (
            f"Expected calibration error {self.ece:.1%}: its confidences are off from its "
            f"accuracy by {self.ece * 100:.1f} points on average. On average it says "
            f"{self.mean_confidence:.1%} and is right {self.overall_accuracy:.1%} of the time, "
            f"so it is {lean} by {abs(gap) * 100:.1f} points."
        )


def calibration(y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = N_BINS) -> Calibration:
    """The reliability diagram's bins and the expected calibration error of predictions.

    Parameters
    ----------
    y_true : numpy.ndarray
        True labels, shape ``(n,)``.
    probabilities : numpy.ndarray
        Predicted probabilities, shape ``(n, n_classes)``.
    n_bins : int, default 10
        Equal-width confidence bins (2-100).

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        If the shapes disagree, there are no predictions, or ``n_bins`` is out of range.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.2, 0.8]])
    >>> round(calibration(np.array([0, 1, 1, 1]), p, n_bins=5).ece, 3)
    0.3
    """
    from sklearn.calibration import calibration_curve

    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true) or len(y_true) == 0:
        raise ValueError(
            f"probabilities must have shape ({len(y_true)}, n_classes) with n > 0, "
            f"got {probabilities.shape}"
        )
    if not 2 <= n_bins <= 100:
        raise ValueError(f"n_bins must be 2-100, got {n_bins}")
    confidence = probabilities.max(axis=1)
    right = (probabilities.argmax(axis=1) == y_true).astype(np.int64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # The binning of calibration_curve(strategy="uniform"), so the counts match its bins.
    bins = np.searchsorted(edges[1:-1], confidence)
    counts = np.bincount(bins, minlength=n_bins)
    occupied = counts > 0
    per_bin_accuracy, per_bin_confidence = np.full(n_bins, np.nan), np.full(n_bins, np.nan)
    # pos_label: a model right (or wrong) on every digit is a valid, one-outcome case.
    per_bin_accuracy[occupied], per_bin_confidence[occupied] = calibration_curve(
        right, confidence, n_bins=n_bins, strategy="uniform", pos_label=1
    )
    gaps = np.abs(per_bin_accuracy[occupied] - per_bin_confidence[occupied])
    return Calibration(
        bin_edges=edges,
        counts=counts,
        confidence=per_bin_confidence,
        accuracy=per_bin_accuracy,
        ece=float((counts[occupied] * gaps).sum() / len(y_true)),
        mean_confidence=float(confidence.mean()),
        overall_accuracy=float(right.mean()),
    )

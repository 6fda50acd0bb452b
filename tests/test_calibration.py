"""Calibration on toy models whose calibration is known by construction."""

import numpy as np
import pytest

from mnist_lab.explain.calibration import calibration


def toy_predictions(confidences, right_share, per_bin=1000):
    """For each confidence c, ``per_bin`` predictions at c of which ``right_share(c)`` are right."""
    probabilities, labels = [], []
    for confidence in confidences:
        row = np.full(10, (1 - confidence) / 9)
        row[0] = confidence
        right = int(round(right_share(confidence) * per_bin))
        probabilities += [row] * per_bin
        labels += [0] * right + [1] * (per_bin - right)
    return np.array(labels), np.array(probabilities)


def test_a_perfectly_calibrated_toy_model_has_an_ece_near_zero():
    y, p = toy_predictions([0.15, 0.35, 0.55, 0.75, 0.95], lambda c: c)
    result = calibration(y, p)
    assert result.ece < 1e-3
    occupied = result.counts > 0
    np.testing.assert_allclose(result.accuracy[occupied], result.confidence[occupied], atol=1e-3)
    assert result.counts.sum() == len(y) and np.isnan(result.accuracy[~occupied]).all()


def test_an_overconfident_model_is_called_overconfident():
    y, p = toy_predictions([0.95, 0.99], lambda c: c - 0.2)
    result = calibration(y, p)
    assert result.ece == pytest.approx(0.2, abs=1e-3)
    assert result.mean_confidence > result.overall_accuracy
    assert "overconfident by 20.0 points" in result.reading


def test_a_model_right_on_every_digit_still_gets_a_diagram():
    y, p = toy_predictions([0.6, 0.9], lambda c: 1.0, per_bin=10)
    result = calibration(y, p)
    assert result.overall_accuracy == 1.0
    assert result.ece == pytest.approx(1 - (0.6 + 0.9) / 2)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="must have shape"):
        calibration(np.zeros(3), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="n_bins"):
        calibration(np.zeros(2), np.full((2, 10), 0.1), n_bins=1)

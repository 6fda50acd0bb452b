"""Evaluation helpers on tiny hand-built arrays, and the predictions file round trip."""

import numpy as np
import pytest

from mnist_lab.evaluation import (
    PREDICTIONS_FILE,
    cell_indices,
    confusion_csv,
    confusion_difference,
    confusion_matrix,
    disagreements,
    load_predictions,
    misclassified_indices,
    most_confused_pairs,
    normalized_confusion,
    per_digit_accuracy,
    predictions_csv,
    write_evaluation,
)
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import RunStore

Y_TRUE = np.array([0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 2, 2, 2, 0, 2])
CONFIDENCE = np.array([0.9, 0.5, 0.8, 0.7, 0.95, 0.6, 0.55, 0.99])


def test_normalized_confusion_rows_sum_to_one_and_empty_rows_stay_zero():
    matrix = confusion_matrix(Y_TRUE, Y_PRED, n_classes=4)
    shares = normalized_confusion(matrix)
    np.testing.assert_allclose(shares[:3].sum(axis=1), 1.0)
    assert shares[3].tolist() == [0.0] * 4
    np.testing.assert_allclose(shares[1], [0, 1 / 3, 2 / 3, 0])


def test_per_digit_accuracy_is_the_diagonal_share():
    matrix = confusion_matrix(Y_TRUE, Y_PRED, n_classes=3)
    np.testing.assert_allclose(per_digit_accuracy(matrix), [1 / 2, 1 / 3, 2 / 3])


def test_most_confused_pairs_counts_mistakes_largest_first():
    matrix = confusion_matrix(Y_TRUE, Y_PRED, n_classes=3)
    assert most_confused_pairs(matrix) == [(1, 2, 2), (0, 1, 1), (2, 0, 1)]
    assert most_confused_pairs(matrix, top=1) == [(1, 2, 2)]
    assert most_confused_pairs(np.eye(3, dtype=int)) == []


def test_cell_indices_picks_exactly_one_cell_sorted_by_confidence():
    assert cell_indices(Y_TRUE, Y_PRED, 1, 2).tolist() == [3, 4]
    assert cell_indices(Y_TRUE, Y_PRED, 1, 2, confidence=CONFIDENCE).tolist() == [4, 3]
    assert cell_indices(Y_TRUE, Y_PRED, 2, 2, confidence=CONFIDENCE).tolist() == [7, 5]
    assert cell_indices(Y_TRUE, Y_PRED, 0, 2).tolist() == []
    for i in range(3):
        for j in range(3):
            chosen = cell_indices(Y_TRUE, Y_PRED, i, j)
            assert np.all(Y_TRUE[chosen] == i) and np.all(Y_PRED[chosen] == j)


def test_misclassified_indices_filters_and_sorts_most_confident_first():
    assert misclassified_indices(Y_TRUE, Y_PRED, CONFIDENCE).tolist() == [4, 3, 6, 1]
    assert misclassified_indices(Y_TRUE, Y_PRED, CONFIDENCE, true_digit=1).tolist() == [4, 3]
    assert misclassified_indices(Y_TRUE, Y_PRED, CONFIDENCE, predicted_digit=0).tolist() == [6]
    assert misclassified_indices(Y_TRUE, Y_PRED, CONFIDENCE, 2, 2).tolist() == []


def test_confusion_difference_and_its_checks():
    a = np.array([[2, 0], [1, 1]])
    b = np.array([[1, 1], [0, 2]])
    assert confusion_difference(a, b).tolist() == [[1, -1], [1, -1]]
    with pytest.raises(ValueError, match="shape"):
        confusion_difference(a, np.eye(3, dtype=int))
    with pytest.raises(ValueError, match="different sets"):
        confusion_difference(a, b * 2)


def test_disagreements_splits_right_and_wrong_both_ways():
    y_true = np.array([0, 1, 2, 3, 4])
    pred_a = np.array([0, 1, 0, 0, 4])
    pred_b = np.array([0, 0, 2, 0, 0])
    only_a, only_b = disagreements(y_true, pred_a, pred_b)
    assert only_a.tolist() == [1, 4]
    assert only_b.tolist() == [2]
    with pytest.raises(ValueError):
        disagreements(y_true, pred_a[:3], pred_b)


def test_csv_exports():
    assert confusion_csv(np.array([[1, 0], [2, 3]])).splitlines() == [
        "true/predicted,0,1",
        "0,1,0",
        "1,2,3",
    ]
    lines = predictions_csv(np.array([1, 0]), np.array([[0.25, 0.75], [0.6, 0.4]])).splitlines()
    assert lines[0] == "index,true,predicted,confidence,p0,p1"
    assert lines[2] == "1,0,0,0.60000,0.60000,0.40000"


def test_load_predictions_round_trip_and_damage(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    evaluation = write_evaluation(run, np.array([0, 1, 1]), probabilities)
    assert evaluation["confusion_matrix"] == [[1, 0], [1, 1]]
    y_true, loaded = load_predictions(run)
    assert y_true.tolist() == [0, 1, 1]
    np.testing.assert_allclose(loaded, probabilities, rtol=1e-6)
    data = run.file(PREDICTIONS_FILE).read_bytes()
    run.file(PREDICTIONS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(DamagedRunError):
        load_predictions(run)
    run.file(PREDICTIONS_FILE).unlink()
    with pytest.raises(DamagedRunError, match="missing"):
        load_predictions(run)

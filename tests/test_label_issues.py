"""Label issues: confident learning on tiny known cases, flipped labels found, stored results."""

import numpy as np
import pytest

from mnist_lab.data import random_subset
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.explain import label_issues as li
from mnist_lab.runs import RunStore
from tests.hand_built import linear_run


def flipped(labels: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` with ``count`` of them changed to another digit at random, and which."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(labels), count, replace=False)
    noisy = labels.copy()
    noisy[chosen] = (labels[chosen] + rng.integers(1, 10, count)) % 10
    return noisy, chosen


def test_the_least_trusted_disputed_label_ranks_first():
    probabilities = np.array(
        [[0.9, 0.1, 0], [0.2, 0.8, 0], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4], [1, 0, 0], [0, 0, 1]]
    )
    # Thresholds: digit 0 (0.9 + 0.05 + 0.3) / 3, digit 1 0.8, digit 2 (0 + 1) / 2.
    issues = li.find_label_issues(np.array([0, 1, 0, 0, 2, 2]), probabilities)
    assert issues.indices.tolist() == [4, 2, 3]
    assert issues.suggested.tolist() == [0, 1, 2] and issues.given.tolist() == [2, 0, 0]
    np.testing.assert_allclose(issues.self_confidence, [0, 0.05, 0.3])
    assert issues.confident.tolist() == [True, True, False]
    assert (issues.n_checked, issues.n_disputed, issues.n_confident) == (6, 3, 2)
    top = issues.top(1)
    assert top.indices.tolist() == [4] and (top.n_disputed, top.n_confident) == (3, 2)


def test_the_test_set_judges_are_the_runs_with_their_votes():
    labels = np.array([0, 1, 2, 3])
    a, b = np.eye(10)[[0, 1, 7, 5]], np.eye(10)[[0, 1, 2, 5]]
    a[2, [2, 7]], b[2, [2, 7]] = (0.2, 0.8), (0.6, 0.4)
    issues = li.label_issues_of_test_set(labels, {"net": a, "baseline": b})
    assert issues.indices.tolist() == [3, 2] and issues.suggested.tolist() == [5, 7]
    assert issues.votes["net"].tolist() == [5, 7] and issues.votes["baseline"].tolist() == [5, 2]
    with pytest.raises(ValueError, match="at least one run"):
        li.label_issues_of_test_set(labels, {})


def test_bad_shapes_and_labels_are_refused():
    with pytest.raises(ValueError, match="must have shape"):
        li.find_label_issues(np.zeros(3, int), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="labels must be 0-9"):
        li.find_label_issues(np.array([10]), np.full((1, 10), 0.1))


@pytest.mark.slow
def test_fifty_flipped_labels_in_five_thousand_digits_are_found(mnist):
    positions, labels = random_subset(np.arange(60_000), mnist.y_train, 5000, seed=1)
    noisy, chosen = flipped(labels, 50, seed=1)
    judged = li.out_of_fold_probabilities(mnist.x_train[positions], noisy, LogregSettings())
    assert set(judged) == {li.LOGISTIC_JUDGE, li.NEIGHBOURS_JUDGE}
    for probabilities in judged.values():
        assert (probabilities.argmax(axis=1) == labels).mean() > 0.85
    issues = li.find_label_issues(noisy, np.mean(list(judged.values()), axis=0))
    found = len(set(issues.indices[:50].tolist()) & set(chosen.tolist()))
    assert found >= 30, f"only {found} of the 50 flipped labels among the top 50"


def test_training_set_issues_are_stored_in_the_baseline_and_reused(tmp_path, mnist):
    baseline = linear_run(RunStore(tmp_path), np.zeros((10, 784)))
    config = LogregSettings(subset=600, max_iter=60).to_dict() | {"name": "linear"}
    baseline.write_json("config.json", config)
    assert li.read_training_set_label_issues(baseline, mnist) is None
    progress = []
    issues = li.label_issues_of_training_set(
        baseline, mnist, on_progress=lambda done, total: progress.append((done, total))
    )
    assert progress == [(fold, li.FOLDS) for fold in range(1, li.FOLDS + 1)]
    assert issues.n_checked == 600 and 0 < len(issues.indices) <= li.STORED_ISSUES
    positions, _ = random_subset(np.arange(60_000), mnist.y_train, 600, seed=0)
    assert set(issues.indices.tolist()) <= set(positions.tolist())
    np.testing.assert_array_equal(mnist.y_train[issues.indices], issues.given)
    assert set(issues.votes) == {li.LOGISTIC_JUDGE, li.NEIGHBOURS_JUDGE}
    stored = li.read_training_set_label_issues(baseline, mnist)
    assert stored.to_dict() == issues.to_dict()
    assert li.label_issues_of_training_set(baseline, mnist).to_dict() == issues.to_dict()
    baseline.write_json("config.json", config | {"name": "renamed"})
    assert li.read_training_set_label_issues(baseline, mnist) is not None, "a rename keeps them"
    baseline.write_json("config.json", config | {"C": 0.1})
    assert li.read_training_set_label_issues(baseline, mnist) is None, "new settings, new judges"

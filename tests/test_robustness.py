"""Robustness curves: corruptions that leave digits alone at their identity strength, caching."""

import os

import numpy as np
import pytest

from mnist_lab.engines import get_engine
from mnist_lab.explain import robustness as rb
from mnist_lab.runs import RunStore
from tests.hand_built import linear_run


@pytest.fixture
def linear(tmp_path):
    coef = np.random.default_rng(0).normal(size=(10, 784))
    return linear_run(RunStore(tmp_path), coef)


def test_every_corruption_leaves_digits_unchanged_at_its_identity_strength(mnist):
    digits = mnist.x_test[:40]
    for name, corruption in rb.CORRUPTIONS.items():
        assert corruption.identity in corruption.strengths, name
        np.testing.assert_array_equal(rb.corrupt(digits, name, corruption.identity), digits)


def test_corruptions_change_digits_the_way_their_names_say(mnist):
    digit = mnist.x_test[0]
    ink = int(digit.astype(int).sum())
    assert rb.corrupt(digit, "rotation", 90).shape == (28, 28)
    np.testing.assert_array_equal(rb.corrupt(digit, "shift", 3)[:, 3:], digit[:, :-3])
    assert int(rb.corrupt(digit, "thickness", 2).astype(int).sum()) > 1.5 * ink
    assert int(rb.corrupt(digit, "thickness", -1).astype(int).sum()) < 0.8 * ink
    assert int(rb.corrupt(digit, "scale", 0.5).astype(int).sum()) < 0.4 * ink
    assert np.count_nonzero(rb.corrupt(digit, "blur", 2.0)) > 1.5 * np.count_nonzero(digit)
    noisy = rb.corrupt(digit, "noise", 64, seed=3)
    np.testing.assert_array_equal(noisy, rb.corrupt(digit, "noise", 64, seed=3))
    assert noisy.dtype == np.uint8 and np.count_nonzero(noisy != digit) > 300
    with pytest.raises(ValueError, match="corruption must be one of"):
        rb.corrupt(digit, "melt", 1)


def test_rotating_by_zero_degrees_leaves_accuracy_unchanged(linear, mnist):
    images, labels = mnist.x_test[:300], mnist.y_test[:300]
    clean = get_engine("sklearn").predict_proba(linear, images).argmax(axis=1) == labels
    curves = rb.robustness_curves(linear, images, labels)
    rotation = curves[curves["corruption"] == "rotation"].set_index("strength")["accuracy"]
    assert rotation[0.0] == clean.mean()
    assert list(rotation.index) == [float(s) for s in rb.CORRUPTIONS["rotation"].strengths]
    assert set(curves["corruption"]) == set(rb.CORRUPTIONS)


def test_curves_are_stored_in_the_run_and_measured_again_for_a_new_model(linear, mnist):
    assert rb.read_robustness(linear, mnist, size=200) is None
    seen = []
    curves = rb.measure_robustness(
        linear, mnist, size=200, on_progress=lambda done, total: seen.append((done, total))
    )
    total = sum(len(c.strengths) - 1 for c in rb.CORRUPTIONS.values()) + 1
    assert seen[-1] == (total, total) and len(seen) == total
    stored = rb.read_robustness(linear, mnist, size=200)
    assert stored.equals(curves)
    assert rb.measure_robustness(linear, mnist, size=200, on_progress=seen.append).equals(curves)
    assert len(seen) == total, "stored curves are not measured again"
    assert rb.read_robustness(linear, mnist, size=300) is None, "another sample size is not reused"
    model_file = get_engine("sklearn").model_file(linear)
    os.utime(model_file, (1, 1))
    assert rb.read_robustness(linear, mnist, size=200) is None, "a newer model is measured again"
    linear.file(rb.ROBUSTNESS_FILE).write_text("{broken")
    assert rb.read_robustness(linear, mnist, size=200) is None

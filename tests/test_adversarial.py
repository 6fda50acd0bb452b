"""Adversarial digits on hand-built models: the change stays within its bound and works."""

import numpy as np
import pytest

from mnist_lab.engines import Engine, get_engine
from mnist_lab.explain import adversarial as adv
from mnist_lab.runs import RunStore
from tests.hand_built import linear_run, numpy_net_run

RNG = np.random.default_rng(1)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path)


def test_an_fgsm_step_of_size_eps_changes_no_pixel_by_more_than_eps():
    x = RNG.uniform(0, 255, (5, 28, 28))
    gradient = RNG.normal(size=x.shape)
    for eps in (0.5, 8.0, 40.0):
        stepped = adv.fgsm_step(x, gradient, eps)
        assert np.abs(stepped - x).max() <= eps + 1e-9
        assert stepped.min() >= 0 and stepped.max() <= 255
        # Every pixel away from the edges of 0-255 moves by exactly eps, up its gradient.
        inside = (x > eps) & (x < 255 - eps)
        np.testing.assert_allclose((stepped - x)[inside], eps * np.sign(gradient[inside]))


def test_the_smallest_attack_turns_a_linear_models_digit_into_the_target(store):
    coef = RNG.normal(size=(10, 784))
    run = linear_run(store, coef)
    digit = RNG.uniform(0, 255, (28, 28))
    before = get_engine("sklearn").predict_proba(run, digit)[0]
    target = int(np.argsort(before)[-2])
    attack = adv.smallest_attack(run, digit, target)
    assert attack.success and attack.prediction_after == target
    assert attack.prediction_before == int(before.argmax()) != target
    assert attack.max_change <= attack.epsilon + 1e-9
    assert attack.adversarial.min() >= 0 and attack.adversarial.max() <= 255
    assert attack.changed_pixels > 0 and attack.l2 > attack.max_change
    # A bound a fifth of the one found is not enough: the search found a small change.
    smaller = adv.smallest_attacks(run, digit, target, epsilons=[attack.epsilon / 5])[0]
    assert not smaller.success and smaller.max_change <= attack.epsilon / 5 + 1e-9


def test_a_batch_of_attacks_keeps_every_bound_and_transfer_reports_other_models(store):
    network = numpy_net_run(store, hidden_units=12, normalization="standardize")
    other = linear_run(store, RNG.normal(size=(10, 784)))
    digits = RNG.uniform(0, 255, (4, 28, 28))
    targets = np.array([1, 4, 7, 9])
    attacks = adv.smallest_attacks(network, digits, targets)
    assert [a.target for a in attacks] == targets.tolist()
    for attack, digit in zip(attacks, digits, strict=True):
        np.testing.assert_array_equal(attack.original, digit)
        assert np.abs(attack.change).max() <= attack.epsilon + 1e-9
        assert attack.success == (attack.prediction_after == attack.target)
    transfers = adv.transfer(attacks[0], [other])
    p = get_engine("sklearn").predict_proba(other, np.stack([digits[0], attacks[0].adversarial]))
    assert transfers[0].run == other
    assert (transfers[0].prediction_before, transfers[0].prediction_after) == tuple(p.argmax(1))
    assert transfers[0].target_probability == pytest.approx(p[1, 1])


def test_engines_without_gradients_and_bad_arguments_are_refused(store, monkeypatch):
    run = linear_run(store, RNG.normal(size=(10, 784)))
    digit = np.zeros((28, 28))
    with pytest.raises(ValueError, match="steps must be 1-100"):
        adv.smallest_attack(run, digit, 3, steps=1000)
    with pytest.raises(ValueError, match="positive and increasing"):
        adv.smallest_attacks(run, digit, 3, epsilons=[8, 4])
    monkeypatch.setattr(type(get_engine("sklearn")), "differentiable", Engine.differentiable)
    with pytest.raises(ValueError, match="gives no gradients"):
        adv.smallest_attack(run, digit, 3)

"""Adversarial digits: the smallest change of the pixels that makes a model read another digit.

The attack is the iterative fast gradient sign method (Goodfellow et al., 2015; Kurakin et
al., 2017) aimed at a chosen digit: every step moves each pixel a little up or down, whichever
raises the log-probability of the target, and never lets a pixel drift more than ``epsilon``
grey levels from the original. The smallest ``epsilon`` that works is searched on a grid, then
refined between the largest size that failed and the smallest that worked; every size is tried
side by side in one batch. `transfer` then shows the changed digit to other models: a change
found on one network often fools others too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines import engine_of
from mnist_lab.engines.scores import class_indices
from mnist_lab.runs import Run

# Candidate bounds on any pixel's change, in grey levels of 0-255: 1% to half the range.
EPSILONS = (2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0)
ATTACK_STEPS = 10
# Sizes tried between the largest bound that failed and the smallest that worked.
REFINE_POINTS = 7
# A pixel counts as changed when it moved by more than this many grey levels.
VISIBLE_CHANGE = 1.0
# Digits attacked per model in `attack_study` (the adversarial lesson).
STUDY_DIGITS = 20


@dataclass(frozen=True)
class Attack:
    """The smallest adversarial change found for one digit.

    Attributes
    ----------
    original, adversarial : numpy.ndarray
        float64 ``(28, 28)`` pixels, 0-255: the digit and the changed digit.
    target : int
        The digit the attack aimed for.
    success : bool
        Whether the model reads ``adversarial`` as ``target``.
    epsilon : float
        The bound on any pixel's change the attack needed (or the largest tried, on failure).
    probabilities_before, probabilities_after : numpy.ndarray
        The model's ten probabilities for the original and the changed digit.
    """

    original: np.ndarray
    adversarial: np.ndarray
    target: int
    success: bool
    epsilon: float
    probabilities_before: np.ndarray
    probabilities_after: np.ndarray

    @property
    def change(self) -> np.ndarray:
        """``adversarial - original``, per pixel."""
        return self.adversarial - self.original

    @property
    def max_change(self) -> float:
        """The largest change of any pixel, in grey levels (the L-infinity norm)."""
        return float(np.abs(self.change).max())

    @property
    def l2(self) -> float:
        """The change's Euclidean length in grey levels (the L2 norm)."""
        return float(np.linalg.norm(self.change))

    @property
    def changed_pixels(self) -> int:
        """How many pixels moved by more than one grey level."""
        return int((np.abs(self.change) > VISIBLE_CHANGE).sum())

    @property
    def prediction_before(self) -> int:
        """What the model read in the original digit."""
        return int(self.probabilities_before.argmax())

    @property
    def prediction_after(self) -> int:
        """What the model reads in the changed digit."""
        return int(self.probabilities_after.argmax())


@dataclass(frozen=True)
class Transfer:
    """How another model reads an adversarial digit made on one model.

    Attributes
    ----------
    run : Run
        The other model's run.
    prediction_before, prediction_after : int
        What it reads in the original and in the changed digit.
    target_probability : float
        Its probability of the attack's target for the changed digit.
    fooled : bool
        Whether it reads the target in the changed digit (and did not in the original).
    """

    run: Run
    prediction_before: int
    prediction_after: int
    target_probability: float
    fooled: bool


def fgsm_step(x: np.ndarray, gradient: np.ndarray, step: float | np.ndarray) -> np.ndarray:
    """One fast-gradient-sign step: each pixel moves by ``step`` up its gradient's sign.

    Parameters
    ----------
    x : numpy.ndarray
        Pixels 0-255, any shape.
    gradient : numpy.ndarray
        The gradient of the score to raise, same shape.
    step : float or numpy.ndarray
        Grey levels per pixel (an array broadcasts, e.g. one step per image).

    Returns
    -------
    numpy.ndarray
        float64 pixels, clipped to 0-255; none moved by more than ``step``.

    Examples
    --------
    >>> fgsm_step(np.array([10.0, 250.0, 0.0]), np.array([-1.0, 2.0, 0.0]), 8).tolist()
    [2.0, 255.0, 0.0]
    """
    return np.clip(np.asarray(x, dtype=np.float64) + step * np.sign(gradient), 0.0, 255.0)


def smallest_attacks(
    run: Run,
    images: np.ndarray,
    targets: int | np.ndarray,
    model: Any = None,
    steps: int = ATTACK_STEPS,
    epsilons: Sequence[float] = EPSILONS,
) -> list[Attack]:
    """The smallest change found that makes ``run`` read each image as its target.

    Parameters
    ----------
    run : Run
        A run with a saved model whose engine is `differentiable`.
    images : numpy.ndarray
        One 28x28 digit or a batch ``(m, 28, 28)``, 0-255.
    targets : int or numpy.ndarray
        The digit to aim for: one for all images or one per image.
    model : Any, optional
        The run's loaded model, if the caller cached it.
    steps : int, default 10
        Gradient-sign steps per attack (1-100), each ``epsilon / 4``.
    epsilons : sequence of float
        Increasing bounds to search, in grey levels.

    Returns
    -------
    list of Attack
        One per image.

    Raises
    ------
    ValueError
        If the engine gives no gradients, or the arguments are out of range.
    """
    engine = engine_of(run)
    if not engine.differentiable:
        raise ValueError(f"the {engine.title} gives no gradients to attack with")
    if not 1 <= steps <= 100:
        raise ValueError(f"steps must be 1-100, got {steps}")
    grid = np.asarray(epsilons, dtype=np.float64)
    if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) <= 0) or grid[0] <= 0:
        raise ValueError("epsilons must be positive and increasing")
    images = np.asarray(images, dtype=np.float64).reshape(-1, *IMAGE_SHAPE)
    targets = class_indices(targets, len(images))

    def attack(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _iterative_attack(run, model, images, targets, bounds, steps)

    found, success, after = attack(np.tile(grid, (len(images), 1)))
    first = np.where(success.any(axis=1), success.argmax(axis=1), len(grid) - 1)
    upper = grid[first]
    lower = np.where(first > 0, grid[np.maximum(first - 1, 0)], 0.0)
    fractions = np.arange(1, REFINE_POINTS + 1) / (REFINE_POINTS + 1)
    between = lower[:, None] + fractions * (upper - lower)[:, None]
    refined, refined_success, refined_after = attack(between)
    before = engine.predict_proba(run, images, model=model)
    attacks = []
    for row in range(len(images)):
        # The smallest refined bound that worked, else the grid's own answer.
        hits = np.flatnonzero(refined_success[row]) if success[row, first[row]] else []
        if len(hits):
            epsilon, adversarial, probabilities = (
                between[row, hits[0]],
                refined[row, hits[0]],
                refined_after[row, hits[0]],
            )
        else:
            column = first[row]
            epsilon, adversarial, probabilities = (
                grid[column],
                found[row, column],
                after[row, column],
            )
        attacks.append(
            Attack(
                original=images[row],
                adversarial=adversarial,
                target=int(targets[row]),
                success=bool(probabilities.argmax() == targets[row]),
                epsilon=float(epsilon),
                probabilities_before=before[row],
                probabilities_after=probabilities,
            )
        )
    return attacks


def smallest_attack(
    run: Run, image: np.ndarray, target: int, model: Any = None, steps: int = ATTACK_STEPS
) -> Attack:
    """`smallest_attacks` for one 28x28 digit."""
    return smallest_attacks(run, image, target, model=model, steps=steps)[0]


def transfer(
    attack: Attack, runs: Sequence[Run], models: Sequence[Any] | None = None
) -> list[Transfer]:
    """Show the original and the changed digit of ``attack`` to each of ``runs``.

    Parameters
    ----------
    attack : Attack
    runs : sequence of Run
        Other runs with saved models (any engine).
    models : sequence, optional
        Their loaded models, in the same order, if the caller cached them.

    Returns
    -------
    list of Transfer
    """
    transfers = []
    for run, model in zip(runs, models or [None] * len(runs), strict=True):
        pair = np.stack([attack.original, attack.adversarial])
        before, after = engine_of(run).predict_proba(run, pair, model=model)
        transfers.append(
            Transfer(
                run=run,
                prediction_before=int(before.argmax()),
                prediction_after=int(after.argmax()),
                target_probability=float(after[attack.target]),
                fooled=bool(after.argmax() == attack.target != before.argmax()),
            )
        )
    return transfers


def attack_study(
    runs: Mapping[str, Run],
    images: np.ndarray,
    labels: np.ndarray,
    count: int = STUDY_DIGITS,
    models: Mapping[str, Any] | None = None,
) -> dict[str, dict]:
    """Turn the same digits into the next digit (0 into 1, ..., 9 into 0) on every run, and
    show each run's adversarial digits to the others.

    Parameters
    ----------
    runs : mapping
        Key -> run with a saved model whose engine is `differentiable`.
    images, labels : numpy.ndarray
        Candidate digits ``(n, 28, 28)`` and their labels, in the order they are tried.
    count : int, default 20
        How many digits to attack: the first that every run reads correctly.
    models : mapping, optional
        Key -> the run's loaded model, if the caller has them.

    Returns
    -------
    dict
        Key -> ``{"digits", "success", "median_epsilon", "fooled"}``: how many digits were
        attacked, the share turned into the target, the median bound needed (grey levels,
        over the successes), and ``fooled``: other key -> the share of this run's successful
        adversarial digits that the other run reads as the target too.
    """
    models = dict(models or {key: engine_of(run).load_model(run) for key, run in runs.items()})
    labels = np.asarray(labels)
    readings = [
        engine_of(run).predict_proba(run, images, model=models.get(key)).argmax(axis=1)
        for key, run in runs.items()
    ]
    chosen = np.flatnonzero(np.all([reading == labels for reading in readings], axis=0))[:count]
    targets = (labels[chosen] + 1) % 10
    attacks = {
        key: smallest_attacks(run, images[chosen], targets, model=models.get(key))
        for key, run in runs.items()
    }
    study = {}
    for key, made in attacks.items():
        successes = [attack for attack in made if attack.success]
        others = [other for other in runs if other != key]
        fooled = {other: [] for other in others}
        for attack in successes:
            transfers = transfer(attack, [runs[o] for o in others], [models.get(o) for o in others])
            for other, result in zip(others, transfers, strict=True):
                fooled[other].append(result.fooled)
        study[key] = {
            "digits": len(made),
            "success": float(np.mean([attack.success for attack in made])) if made else 0.0,
            "median_epsilon": (
                float(np.median([attack.epsilon for attack in successes])) if successes else None
            ),
            "fooled": {o: float(np.mean(hits)) if hits else 0.0 for o, hits in fooled.items()},
        }
    return study


def _iterative_attack(
    run: Run,
    model: Any,
    images: np.ndarray,
    targets: np.ndarray,
    bounds: np.ndarray,
    steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attack every image under every bound in ``bounds`` (``(m, k)``) in one batch.

    Returns
    -------
    adversarial : numpy.ndarray
        ``(m, k, 28, 28)``: the first changed digit read as the target, else the last step's.
    success : numpy.ndarray
        ``(m, k)`` bool.
    probabilities : numpy.ndarray
        ``(m, k, 10)``: the model's probabilities for each ``adversarial``.
    """
    m, k = bounds.shape
    engine = engine_of(run)
    start = np.repeat(images, k, axis=0)
    goal = np.repeat(targets, k)
    epsilon = bounds.reshape(-1, 1, 1)
    x = start.copy()
    adversarial, success = start.copy(), np.zeros(m * k, dtype=bool)
    kept = np.zeros((m * k, 10))
    for step in range(steps + 1):
        if step < steps:
            gradient, probabilities = engine.input_gradient(
                run, x, goal, model=model, score="log_probability"
            )
        else:
            probabilities = engine.predict_proba(run, x, model=model)
        # Keep each row's first success: later steps only wander inside the same bound.
        new = (probabilities.argmax(axis=1) == goal) & ~success
        adversarial[new], kept[new] = x[new], probabilities[new]
        success |= new
        if step < steps:
            moved = fgsm_step(x, gradient, epsilon / 4)
            x = np.clip(moved, start - epsilon, start + epsilon)
    failed = ~success
    adversarial[failed], kept[failed] = x[failed], probabilities[failed]
    return (
        adversarial.reshape(m, k, *IMAGE_SHAPE),
        success.reshape(m, k),
        kept.reshape(m, k, -1),
    )

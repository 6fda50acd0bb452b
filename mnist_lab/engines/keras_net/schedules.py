"""The one-cycle learning-rate schedule: warm up, then anneal, in one pass over training.

Shape (``peak`` is the learning rate setting, ``W`` the warm-up steps, ``T`` all steps)::

    rate
    peak |        /\\
         |       /   \\__
         |      /        \\__
    peak/25 __/               \\___ peak/10,000
         0    W                   T   step

The rate climbs linearly from ``peak / 25`` to ``peak`` over the first ``warmup_fraction`` of
the steps, then follows a half cosine down to ``peak / 10,000``. The climb lets a large peak
rate start gently; the long descent settles the weights (Smith & Topin, "Super-convergence").
`one_cycle_rate` is the formula in plain Python, so the Train page can draw it without
TensorFlow; training builds the same curve from Keras's ``CosineDecay`` with a linear warm-up
(`keras_one_cycle`), so saved models need no custom class to load.
"""

from __future__ import annotations

import math

START_DIVISOR = 25.0
END_DIVISOR = 1e4


def one_cycle_rate(step: float, total_steps: int, peak: float, warmup_fraction: float) -> float:
    """The one-cycle learning rate at ``step`` of ``total_steps``.

    Examples
    --------
    >>> one_cycle_rate(0, 100, 0.01, 0.25), one_cycle_rate(25, 100, 0.01, 0.25)
    (0.0004, 0.01)
    >>> round(one_cycle_rate(100, 100, 0.01, 0.25), 8)
    1e-06
    """
    warmup = warmup_fraction * total_steps
    start, end = peak / START_DIVISOR, peak / END_DIVISOR
    if step < warmup:
        return start + (peak - start) * step / warmup
    progress = min(max((step - warmup) / max(total_steps - warmup, 1), 0.0), 1.0)
    return end + (peak - end) * 0.5 * (1 + math.cos(math.pi * progress))


def keras_one_cycle(total_steps: int, peak: float, warmup_fraction: float):
    """`one_cycle_rate` as a Keras schedule: ``CosineDecay`` with its linear warm-up."""
    import keras

    warmup = max(1, round(warmup_fraction * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        peak / START_DIVISOR,
        decay_steps=max(1, total_steps - warmup),
        alpha=1 / END_DIVISOR,
        warmup_target=peak,
        warmup_steps=warmup,
    )


def schedule_rates(settings, steps_per_epoch: int, points: int = 200) -> tuple[list, list]:
    """The learning rate over training under ``settings``' schedule, for drawing it.

    Parameters
    ----------
    settings : KerasSettings
        ``learning_rate``, ``lr_schedule``, ``epochs`` and the schedule's own settings.
    steps_per_epoch : int
    points : int, default 200

    Returns
    -------
    epochs : list of float
        Where each point lies, in epochs from the start.
    rates : list of float

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> flat = SimpleNamespace(learning_rate=0.1, lr_schedule="none", epochs=2)
    >>> schedule_rates(flat, 10, points=3)
    ([0.0, 1.0, 2.0], [0.1, 0.1, 0.1])
    """
    total = steps_per_epoch * settings.epochs
    steps = [total * i / (points - 1) for i in range(points)]
    peak = settings.learning_rate
    if settings.lr_schedule == "exponential":
        rates = [peak * settings.lr_decay_rate ** (step / steps_per_epoch) for step in steps]
    elif settings.lr_schedule == "cosine":
        low = settings.lr_min_fraction
        rates = [
            peak * (low + (1 - low) * 0.5 * (1 + math.cos(math.pi * step / total)))
            for step in steps
        ]
    elif settings.lr_schedule == "one-cycle":
        rates = [one_cycle_rate(step, total, peak, settings.warmup_fraction) for step in steps]
    else:
        rates = [peak] * points
    return [step / steps_per_epoch for step in steps], rates

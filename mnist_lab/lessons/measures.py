"""What two lessons measure on their trained models beyond the runs' records."""

from __future__ import annotations

from collections.abc import Mapping

from mnist_lab.data import load_mnist
from mnist_lab.engines import engine_of
from mnist_lab.explain.adversarial import attack_study
from mnist_lab.explain.robustness import measure_robustness
from mnist_lab.runs import Run


def measure_attacks(runs: Mapping[str, Run]) -> dict[str, dict]:
    """The attacks of `mnist_lab.explain.adversarial.attack_study` on the first test digits."""
    dataset = load_mnist()
    return attack_study(runs, dataset.x_test[:200], dataset.y_test[:200])


def measure_corruptions(runs: Mapping[str, Run]) -> dict[str, dict]:
    """Each run's robustness curves (stored in the run), as corruption -> strength -> accuracy."""
    dataset = load_mnist()
    measured = {}
    for step, run in runs.items():
        curves = measure_robustness(run, dataset, model=engine_of(run).load_model(run))
        measured[step] = {
            name: dict(zip(group["strength"], group["accuracy"], strict=True))
            for name, group in curves.groupby("corruption")
        }
    return measured

"""`LogregSettings`: what a logistic-regression baseline fit takes, declared once.

Defaults come from ``benchmarks/bench_baseline.py``: the fastest settings that still converge
and reach at least 92.5% test accuracy on the full training set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mnist_lab.settings import (
    Settings,
    dataset_setting,
    normalization_setting,
    seed_setting,
    setting,
    subset_setting,
)

REGULARIZATIONS = (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0)
# Includes the benchmarked default (3e-4): a slider's value must be one of its options.
TOLERANCES = (1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 1e-2)


@dataclass
class LogregSettings(Settings):
    """Settings of one logistic-regression baseline fit (L-BFGS, in chunks of iterations)."""

    engine: ClassVar[str] = "sklearn"
    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "numpy")

    C: float = setting(
        1.0,
        float,
        low=1e-4,
        high=1e4,
        options=REGULARIZATIONS,
        log=True,
        label="C (inverse regularization)",
        help="Inverse L2 regularization strength: smaller is simpler.",
    )
    max_iter: int = setting(
        500, int, low=1, high=10_000, label="Max iterations", help="L-BFGS iterations in total."
    )
    tol: float = setting(
        3e-4,
        float,
        low=1e-8,
        high=0.1,
        options=TOLERANCES,
        log=True,
        label="Tolerance",
        help="Stop when the largest gradient entry falls below this.",
    )
    normalization: str = normalization_setting()
    subset: int | None = subset_setting()
    seed: int = seed_setting()
    dataset: str = dataset_setting()
    chunk_iterations: int = setting(
        25,
        int,
        low=1,
        high=1000,
        advanced=True,
        label="Iterations between progress reports",
        help="The optimizer restarts from the current weights after each chunk.",
    )

    @property
    def label(self) -> str:
        """Always ``logreg-baseline``."""
        return "logreg-baseline"

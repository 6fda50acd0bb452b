"""`NumpyNetSettings`: what a run of the from-scratch NumPy network takes, declared once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mnist_lab.settings import (
    BATCH_SIZES,
    LEARNING_RATES,
    Settings,
    dataset_setting,
    normalization_setting,
    seed_setting,
    setting,
    subset_setting,
    val_split_setting,
)

# The classic exercise's hidden layer width.
CLASSIC_HIDDEN_UNITS = 20


@dataclass
class NumpyNetSettings(Settings):
    """Settings of one NumPy-engine run: 784 -> hidden sigmoid -> 10 softmax, plain SGD."""

    engine: ClassVar[str] = "numpy"

    epochs: int = setting(5, int, low=1, high=100, label="Epochs")
    learning_rate: float = setting(
        0.5,
        float,
        low=0.0,
        high=10.0,
        low_open=True,
        options=(*LEARNING_RATES[:10], 0.5, *LEARNING_RATES[10:]),
        log=True,
        flag="--lr",
        label="Learning rate",
        help="SGD step size.",
    )
    batch_size: int = setting(
        32,
        int,
        low=1,
        high=4096,
        options=BATCH_SIZES,
        decides_speed=True,
        label="Batch size",
        help="Images per step.",
    )
    hidden_units: int = setting(
        CLASSIC_HIDDEN_UNITS,
        int,
        decides_speed=True,
        low=1,
        high=512,
        label="Hidden sigmoid units",
        help=f"Width of the sigmoid hidden layer ({CLASSIC_HIDDEN_UNITS} in the classic exercise).",
    )
    normalization: str = normalization_setting()
    seed: int = seed_setting()
    dataset: str = dataset_setting()
    subset: int | None = subset_setting()
    val_split: float = val_split_setting()

    @property
    def label(self) -> str:
        """The architecture, e.g. ``numpy-784-20-10``."""
        return f"numpy-784-{self.hidden_units}-10"

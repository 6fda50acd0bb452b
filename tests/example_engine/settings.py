"""`CentroidSettings`: what the worked example engine takes, declared once."""

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


@dataclass
class CentroidSettings(Settings):
    """Nearest class mean: each class is the mean of its training digits."""

    engine: ClassVar[str] = "centroid"

    sharpness: float = setting(
        1.0,
        float,
        low=0.01,
        high=100.0,
        options=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
        log=True,
        label="Sharpness",
        help="How fast a class's probability falls with the distance to its mean digit.",
    )
    normalization: str = normalization_setting()
    subset: int | None = subset_setting()
    seed: int = seed_setting()
    dataset: str = dataset_setting()

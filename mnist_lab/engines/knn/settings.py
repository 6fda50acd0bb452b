"""`KnnSettings`: what a k-nearest-neighbours run takes, declared once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.settings import (
    Settings,
    dataset_setting,
    normalization_setting,
    seed_setting,
    setting,
    subset_setting,
)

# Minkowski distances by name: the p of (sum |a - b|^p)^(1/p).
DISTANCES = {"L1": 1, "L2": 2, "L3": 3}
WEIGHTS = ("uniform", "distance")
MAX_K = 50
N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


@dataclass
class KnnSettings(Settings):
    """Settings of one k-nearest-neighbours run: it stores the digits, then predicts."""

    engine: ClassVar[str] = "knn"
    packages: ClassVar[tuple[str, ...]] = ("numpy", "scikit-learn")

    k: int = setting(
        3,
        int,
        low=1,
        high=MAX_K,
        options=(1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 30, 50),
        label="Neighbours (k)",
        help="How many of the closest training digits vote on a digit's class.",
    )
    distance: str = setting(
        "L2",
        str,
        choices=tuple(DISTANCES),
        decides_speed=True,
        label="Distance",
        help="L1: sum of |differences|; L2: Euclidean; L3: cube root of the sum of "
        "|differences| cubed. L2 is the fastest by far (matrix products, a minute or two for "
        "the 10,000 test digits against all 60,000); L1 and L3 compare every pixel pair, "
        "about 10 and 30 minutes on two cores: use PCA with them (L3 after PCA to 40 "
        "dimensions: about 3 minutes).",
    )
    weights: str = setting(
        "distance",
        str,
        choices=WEIGHTS,
        label="Vote weights",
        help="uniform: every neighbour has one vote; distance: a vote weighs 1 / distance, "
        "so closer neighbours count more (an exact match decides alone).",
    )
    pca: int | None = setting(
        None,
        int,
        low=2,
        high=N_PIXELS,
        optional=True,
        none_means="no PCA: all 784 pixels",
        decides_speed=True,
        label="PCA dimensions (0 = none)",
        help="Project the normalized digits on their first principal components first: "
        "about 40-50 remove noise, lower the error and make every distance faster.",
    )
    normalization: str = normalization_setting()
    subset: int | None = subset_setting()
    seed: int = seed_setting()
    dataset: str = dataset_setting()

    @property
    def label(self) -> str:
        """``knn-k3-L2``, with the PCA dimensions when there are some (``-pca50``)."""
        pca = f"-pca{self.pca}" if self.pca else ""
        return f"knn-k{self.k}-{self.distance}{pca}"

"""`SvmSettings`: what a Gaussian-kernel SVM fit takes, declared once.

Defaults come from fits on subsets of MNIST (see the engine's docstring): pixels scaled to
[0, 1], projected on their first 50 principal components, ``gamma=0.03``, ``C=10``.
"""

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

N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


@dataclass
class SvmSettings(Settings):
    """Settings of one kernel SVM: C, the kernel's width, the projection before it."""

    engine: ClassVar[str] = "svm"
    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "numpy")

    C: float = setting(
        10.0,
        float,
        low=1e-3,
        high=1e4,
        options=(0.1, 1.0, 3.0, 10.0, 30.0, 100.0),
        log=True,
        decides_speed=True,
        label="C (inverse regularization)",
        help="Penalty per digit inside the margin: larger fits the training digits more "
        "closely and keeps more support vectors.",
    )
    gamma: float = setting(
        0.03,
        float,
        low=1e-5,
        high=10.0,
        options=(0.003, 0.01, 0.02, 0.03, 0.05, 0.1, 0.3),
        log=True,
        decides_speed=True,
        label="Gamma (kernel width)",
        help="The kernel is exp(-gamma * squared distance) between normalized (and projected) "
        "digits: larger looks more locally. 0.03 suits pixels scaled to [0, 1]; "
        "standardized pixels have about 10x larger distances, so want about 10x smaller.",
    )
    pca_dims: int | None = setting(
        50,
        int,
        low=2,
        high=N_PIXELS,
        optional=True,
        none_means="all 784 pixels, slow on all 60,000 digits",
        decides_speed=True,
        label="PCA dimensions (0 = none)",
        help="Project the digits on their first principal components before the kernel: "
        "50 keep the shapes and make every kernel value about 15x cheaper.",
    )
    max_iter: int = setting(
        1_000_000,
        int,
        low=1,
        high=10_000_000,
        advanced=True,
        label="Max iterations per pair",
        help="libsvm's iterations for one pair of classes at most: bounds the time an unlucky "
        "C or gamma can take (a pair of MNIST digits needs a few thousand).",
    )
    normalization: str = normalization_setting()
    subset: int | None = subset_setting()
    seed: int = seed_setting()
    dataset: str = dataset_setting()

    def check_combination(self) -> None:
        """Refuse more principal components than training digits."""
        if self.pca_dims is not None and self.subset is not None and self.pca_dims > self.subset:
            raise ValueError(
                f"pca_dims ({self.pca_dims}) cannot exceed the training subset ({self.subset})"
            )

    @property
    def label(self) -> str:
        """``svm-C10-g0.03-pca50``: the settings that shape the model."""
        projection = f"pca{self.pca_dims}" if self.pca_dims is not None else "pixels"
        return f"svm-C{self.C:g}-g{self.gamma:g}-{projection}"

"""`TreesSettings`: what a run of boosted trees or a random forest takes, declared once.

The defaults are the route to the MNIST table's target (at most 3.0% test error within five
minutes on two cores): 100 rounds of histogram gradient boosting with 31 leaves per tree.
Measured on all 60,000 digits on the shared 2-core machine: a round takes about 2.2 s, and
the test error is 3.0% after 31 rounds, 1.85% after 100, 1.64% after 200.
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
    val_split_setting,
)

METHODS = ("boosting", "forest")
# Trees grown per stage: boosting grows one per class each round, a forest one tree.
TREES_PER_STAGE = {"boosting": 10, "forest": 1}
# The most leaves a model may hold: about twice as many nodes, some 60 MB on disk, seconds
# to predict the test digits.
MAX_MODEL_LEAVES = 1_000_000
# Settings that only one method takes.
METHOD_SETTINGS = {"learning_rate": ("boosting",)}


@dataclass
class TreesSettings(Settings):
    """Settings of one run of boosted trees or a random forest (scikit-learn)."""

    engine: ClassVar[str] = "trees"
    used_only_with: ClassVar[tuple[str, dict[str, tuple]]] = ("method", METHOD_SETTINGS)
    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "numpy")

    method: str = setting(
        "boosting",
        str,
        choices=METHODS,
        decides_speed=True,
        label="Method",
        help="boosting: each round adds one small tree per digit that corrects the rounds "
        "before (HistGradientBoostingClassifier); forest: independent deep trees on bootstrap "
        "samples, averaged (RandomForestClassifier).",
    )
    # Named epochs: a stage is the lab's epoch (one record, one point of the learning curve).
    epochs: int = setting(
        100,
        int,
        low=1,
        high=1000,
        label="Stages (boosting rounds, or trees of a forest)",
        help="Each stage is one point of the learning curve: a boosting round adds one tree "
        "per digit, a forest stage one tree.",
    )
    max_leaves: int = setting(
        31,
        int,
        low=2,
        high=8192,
        options=(7, 15, 31, 63, 127, 255, 1023, 4095, 8191),
        log=True,
        decides_speed=True,
        label="Leaves per tree",
        help="Trees grow best split first until they have this many leaves: boosting "
        "wants small trees (15-63), a forest large ones (thousands).",
    )
    max_depth: int | None = setting(
        None,
        int,
        low=1,
        high=64,
        optional=True,
        none_means="as deep as the leaves allow",
        decides_speed=True,
        advanced=True,
        label="Maximum depth (0 = no limit)",
        help="Questions from the root to a leaf at most.",
    )
    learning_rate: float = setting(
        0.15,
        float,
        low=0.0,
        high=1.0,
        low_open=True,
        options=(0.01, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0),
        log=True,
        label="Learning rate (boosting)",
        help="Shrinks each boosting round's trees: smaller needs more rounds, overfits less.",
    )
    normalization: str = normalization_setting()
    subset: int | None = subset_setting()
    val_split: float = val_split_setting()
    seed: int = seed_setting()
    dataset: str = dataset_setting()

    @property
    def label(self) -> str:
        """The method and the size of the model, e.g. ``boosting-200x31``."""
        return f"{self.method}-{self.epochs}x{self.max_leaves}"

    @property
    def model_leaves(self) -> int:
        """The most leaves the model can hold (ten classes per boosting round)."""
        return self.epochs * TREES_PER_STAGE[self.method] * self.max_leaves

    def check_combination(self) -> None:
        """Refuse a learning rate for a forest and a model too large to save and predict.

        Raises
        ------
        ValueError
            Naming the setting to change.
        """
        declared = self.declared()
        if self.method != "boosting" and self.learning_rate != declared["learning_rate"].default:
            raise ValueError("learning_rate applies to method 'boosting' only")
        if self.model_leaves > MAX_MODEL_LEAVES:
            raise ValueError(
                f"{self.epochs} stages of {TREES_PER_STAGE[self.method]} tree(s) with "
                f"{self.max_leaves} leaves make up to {self.model_leaves:,} leaves, over the "
                f"{MAX_MODEL_LEAVES:,} a model may hold: lower the stages or the leaves"
            )

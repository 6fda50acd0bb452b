"""What a run trained outside the lab records: how its digits are fed, and what Keras told.

Nothing here is chosen on the Train page or varied by a sweep: a notebook's ``fit`` (through
`mnist_lab.callback.LabCallback`) or an imported model file decided it all. The fields are
declared so that ``config.json`` is validated like every other engine's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from mnist_lab.preprocess import NORMALIZATIONS
from mnist_lab.settings import Settings, dataset_setting, setting

# The inputs a 28x28 digit can be given as: flattened, an image, an image with one channel.
INPUT_SHAPES = ([784], [28, 28], [28, 28, 1])
# What the model's last layer gives: probabilities (it ends in a softmax) or raw scores.
OUTPUTS = ("probabilities", "logits")
SOURCES = ("notebook", "file")


@dataclass
class ExternalSettings(Settings):
    """A Keras model trained outside the lab, as recorded when it came in."""

    engine: ClassVar[str] = "external"
    packages: ClassVar[tuple[str, ...]] = ("numpy", "keras", "tensorflow")

    source: str = setting(
        "notebook",
        str,
        choices=SOURCES,
        label="Came from",
        help="notebook: trained by a fit with LabCallback; file: an imported model file.",
    )
    normalization: str | None = setting(
        "scale",
        str,
        choices=tuple(NORMALIZATIONS),
        optional=True,
        none_means="the notebook's own preprocess function",
        label="Input normalization",
        help="How the lab feeds 0-255 digits to the model (see mnist_lab.preprocess).",
    )
    preprocess: str | None = setting(
        None,
        str,
        optional=True,
        label="Preprocess function",
        help="The name of the notebook's function that fed the model; the lab cannot run it.",
    )
    input_shape: list = setting(
        [28, 28, 1], list, label="Input shape", help="One digit as the model takes it."
    )
    outputs: str = setting(
        "probabilities",
        str,
        choices=OUTPUTS,
        label="Outputs",
        help="probabilities: the model ends in a softmax; logits: the lab applies one.",
    )
    params: int = setting(0, int, low=0, label="Parameters")
    summary: list = setting([], list, label="Layers", help="One line per layer.")
    optimizer: str | None = setting(None, str, optional=True, label="Optimizer")
    optimizer_config: str | None = setting(
        None, str, optional=True, label="Optimizer settings", help="As Keras reports them."
    )
    learning_rate: float | None = setting(
        None, float, optional=True, low=0.0, high=math.inf, label="Learning rate"
    )
    batch_size: int | None = setting(None, int, optional=True, low=1, label="Batch size")
    epochs: int | None = setting(None, int, optional=True, low=0, label="Epochs")
    steps_per_epoch: int | None = setting(None, int, optional=True, low=1, label="Steps")
    dataset: str = dataset_setting()

    @property
    def label(self) -> str:
        """What run tables and the Class page show in place of an architecture."""
        return "trained outside the lab"

    def check_combination(self) -> None:
        """The digits are fed either by a normalization or by the notebook's function."""
        if (self.normalization is None) == (self.preprocess is None):
            raise ValueError("give exactly one of a normalization and a preprocess function's name")
        if self.input_shape not in INPUT_SHAPES:
            raise ValueError(f"input_shape must be one of {list(INPUT_SHAPES)}")

"""`KerasSettings`: everything that defines a Keras training run, declared once.

Its `to_dict` is the run's ``config.json``; `from_dict` reads it back (and reads a user's
``--config`` file), so the dashboard, the CLI and the worker share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mnist_lab.architecture import Architecture, Preset
from mnist_lab.engines.keras_net.models import (
    LAYER_TYPES,
    PRESETS,
    count_multiply_adds,
    has_convolutions,
    preset_layers,
    summarize_model,
    validate_layers,
)
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

CUSTOM = "custom"
# What the Train page's picker and layer builder and the CLI's --layers offer.
ARCHITECTURE = Architecture(
    presets={name: Preset(p["title"], p["description"]) for name, p in PRESETS.items()},
    custom=CUSTOM,
    layer_types=LAYER_TYPES,
    # A starting point that shows the common layer types in use: a small CNN.
    starter_layers=(
        {"type": "Conv2D", "filters": 16, "kernel": 3, "activation": "relu", "padding": "valid"},
        {"type": "MaxPool", "size": 2},
        {"type": "Dense", "units": 64, "activation": "relu"},
        {"type": "Dropout", "rate": 0.2},
    ),
    summarize=summarize_model,
    preset_layers=preset_layers,
)
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
# The optimizers that take Adam's betas.
ADAM_FAMILY = ("adam", "adamw")
LR_SCHEDULES = ("none", "exponential", "cosine", "one-cycle")
# The settings a preset's recipe chooses (see models.PRESETS); the others stay the user's.
RECIPE_FIELDS = (
    "optimizer",
    "learning_rate",
    "momentum",
    "nesterov",
    "beta_1",
    "beta_2",
    "weight_decay",
    "lr_schedule",
    "warmup_fraction",
    "lr_decay_rate",
    "lr_min_fraction",
    "batch_size",
    "epochs",
    "normalization",
    "label_smoothing",
    "val_split",
)
# Settings that only one optimizer (family) takes.
OPTIMIZER_SETTINGS = {
    "momentum": ("sgd",),
    "nesterov": ("sgd",),
    "beta_1": ADAM_FAMILY,
    "beta_2": ADAM_FAMILY,
    "weight_decay": ("adamw",),
}


@dataclass
class KerasSettings(Settings):
    """The settings of one Keras training run (see each field's declaration for its range).

    ``preset`` names an architecture of `models.PRESETS`, or ``"custom"`` to train
    ``layers`` (see `models.validate_layers`). ``record_gradients`` None means on for
    networks without convolutions, where it is cheap and the lesson lives.
    """

    engine: ClassVar[str] = "keras"
    used_only_with: ClassVar[tuple[str, dict[str, tuple]]] = ("optimizer", OPTIMIZER_SETTINGS)
    packages: ClassVar[tuple[str, ...]] = ("tensorflow", "keras", "numpy")
    architecture: ClassVar[Architecture] = ARCHITECTURE

    preset: str = setting(
        "mlp-relu",
        str,
        choices=(*PRESETS, CUSTOM),
        label="Architecture",
        help="A preset architecture, or custom to train your own layers.",
    )
    layers: list | None = setting(
        None,
        list,
        optional=True,
        none_means="the preset's layers",
        decides_speed=True,
        label="Custom layers",
        help='Hidden layers as JSON, e.g. [{"type": "Dense", "units": 50}] (preset custom).',
    )
    optimizer: str = setting("adam", str, choices=OPTIMIZERS, label="Optimizer")
    learning_rate: float = setting(
        1e-3,
        float,
        low=0.0,
        high=100.0,
        low_open=True,
        options=LEARNING_RATES,
        log=True,
        flag="--lr",
        label="Learning rate (log scale)",
        help="Initial learning rate.",
    )
    momentum: float = setting(
        0.0,
        float,
        low=0.0,
        high=1.0,
        high_open=True,
        label="SGD momentum",
        help="Only used by SGD.",
    )
    nesterov: bool = setting(
        False, bool, label="Nesterov momentum (SGD)", help="Needs SGD with momentum > 0."
    )
    beta_1: float = setting(
        0.9,
        float,
        low=0.0,
        high=1.0,
        high_open=True,
        advanced=True,
        label="Adam beta 1",
        help="Adam and AdamW: how much of the past gradient the step keeps (momentum).",
    )
    beta_2: float = setting(
        0.999,
        float,
        low=0.0,
        high=1.0,
        high_open=True,
        step=0.001,
        advanced=True,
        label="Adam beta 2",
        help="Adam and AdamW: how long the memory of squared gradients is.",
    )
    weight_decay: float = setting(
        0.0,
        float,
        low=0.0,
        high=0.1,
        step=0.0001,
        advanced=True,
        label="AdamW weight decay",
        help="AdamW only: shrinks every weight a little each step, e.g. 0.0001.",
    )
    lr_schedule: str = setting(
        "none",
        str,
        choices=LR_SCHEDULES,
        label="Learning-rate schedule",
        help="exponential multiplies the rate by the decay rate every epoch; cosine anneals "
        "it to the minimum fraction of the initial rate at the end; one-cycle climbs to the "
        "learning rate over the warm-up share of the steps, then anneals it to nearly zero.",
    )
    lr_decay_rate: float = setting(
        0.5,
        float,
        low=0.0,
        high=1.0,
        low_open=True,
        advanced=True,
        label="Decay per epoch",
        help="Exponential schedule: the rate's multiplier per epoch.",
    )
    warmup_fraction: float = setting(
        0.25,
        float,
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
        advanced=True,
        label="Warm-up share",
        help="One-cycle schedule: share of the steps spent climbing to the peak rate.",
    )
    lr_min_fraction: float = setting(
        0.0,
        float,
        low=0.0,
        high=1.0,
        high_open=True,
        advanced=True,
        label="Final rate / initial rate",
        help="Cosine schedule: where the rate ends.",
    )
    batch_size: int = setting(
        32, int, low=1, high=8192, options=BATCH_SIZES, decides_speed=True, label="Batch size"
    )
    epochs: int = setting(5, int, low=1, high=500, label="Epochs")
    val_split: float = val_split_setting()
    normalization: str = normalization_setting()
    label_smoothing: float = setting(
        0.0,
        float,
        low=0.0,
        high=0.5,
        high_open=True,
        advanced=True,
        label="Label smoothing",
        help="Train towards 1 - s on the true digit and s/10 spread over all ten, so the "
        "network is less sure of itself.",
    )
    seed: int = seed_setting()
    dataset: str = dataset_setting()
    subset: int | None = subset_setting()
    early_stopping_patience: int | None = setting(
        None,
        int,
        low=1,
        high=100,
        optional=True,
        none_means="off",
        flag="--early-stopping",
        label="Early stopping patience (0 = off)",
        help="Stop once the validation loss has not improved for this many epochs.",
    )
    record_gradients: bool | None = setting(
        None,
        bool,
        optional=True,
        none_means="on for networks without convolutions",
        advanced=True,
        label="Record gradient flow",
        help="Record per-layer gradient sizes while training.",
    )

    def model_layers(self) -> list[dict]:
        """The hidden-layer spec to build: the preset's, or the validated custom layers."""
        if self.preset == CUSTOM:
            if self.layers is None:
                raise ValueError("preset 'custom' needs a list of layers (an empty one is softmax)")
            return validate_layers(self.layers)
        return preset_layers(self.preset)

    @property
    def label(self) -> str:
        """Short description for run lists and ids: the preset name or ``custom``."""
        return self.preset

    def multiply_adds_per_image(self) -> int:
        """Multiply-adds of one image's forward pass (`models.count_multiply_adds`)."""
        return count_multiply_adds(self.model_layers())

    @property
    def gradients_recorded(self) -> bool:
        """Whether gradient norms are recorded: the explicit choice, else dense nets only."""
        if self.record_gradients is None:
            return not has_convolutions(self.model_layers())
        return self.record_gradients

    def check_combination(self) -> None:
        """Refuse layers without ``preset: custom``, and options the optimizer ignores."""
        if self.preset != CUSTOM and self.layers is not None:
            raise ValueError(
                f"layers are only used with preset 'custom' (the preset is {self.preset!r}): "
                "set preset to 'custom' to train them, or leave them out"
            )
        self.model_layers()
        if self.early_stopping_patience is not None and self.val_split == 0:
            raise ValueError("early stopping watches the validation loss: set val_split > 0")
        if self.optimizer != "sgd" and (self.momentum or self.nesterov):
            raise ValueError("momentum and nesterov apply to optimizer 'sgd' only")
        declared = self.declared()
        betas_changed = any(
            getattr(self, name) != declared[name].default for name in ("beta_1", "beta_2")
        )
        if self.optimizer not in ADAM_FAMILY and betas_changed:
            raise ValueError("beta_1 and beta_2 apply to optimizers 'adam' and 'adamw' only")
        if self.optimizer != "adamw" and self.weight_decay:
            raise ValueError("weight_decay applies to optimizer 'adamw' only")
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs a momentum in (0, 1)")

    def recorded(self) -> dict:
        """``layers`` holds the layers that are built (a preset's too), ``record_gradients``
        the resolved choice, so the file alone says what was trained."""
        return {
            **super().recorded(),
            "layers": self.model_layers(),
            "record_gradients": self.gradients_recorded,
        }

    @classmethod
    def recommended(cls, values: dict) -> dict:
        """The recipe of the chosen preset, every recipe setting filled (defaults otherwise).

        When ``values`` choose another optimizer than the recipe's, the recipe's settings of
        its own optimizer (Adam's betas, say) are left out rather than contradict the choice.

        Examples
        --------
        >>> KerasSettings.recommended({"preset": "fast-cnn"})["lr_schedule"]
        'one-cycle'
        >>> KerasSettings.recommended({"preset": "fast-cnn", "optimizer": "sgd"})["beta_1"]
        0.9
        """
        declared = cls.declared()
        preset = values.get("preset", declared["preset"].default)
        # A preset that is not a name has no recipe; validation names what is wrong with it.
        known = isinstance(preset, str) and preset in PRESETS
        recipe = PRESETS[preset].get("recipe", {}) if known else {}
        chosen = {name: recipe.get(name, declared[name].default) for name in RECIPE_FIELDS}
        optimizer = values.get("optimizer", chosen["optimizer"])
        for name, optimizers in OPTIMIZER_SETTINGS.items():
            if optimizer not in optimizers:
                chosen[name] = declared[name].default
        return chosen

    @classmethod
    def _read(cls, values: dict) -> dict:
        """Drop a preset's recorded layers, so a run's own ``config.json`` reads back.

        Layers that differ from the preset's stay, and `check_combination` refuses them.
        """
        preset = values.get("preset", cls.declared()["preset"].default)
        known = isinstance(preset, str) and preset in PRESETS
        if known and values.get("layers") == preset_layers(preset):
            values = {key: value for key, value in values.items() if key != "layers"}
        return values

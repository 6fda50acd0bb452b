"""`TrainConfig`: everything that defines a Keras training run, validated before launch.

Its `to_dict` is the run's ``config.json``; `from_dict` reads it back (and reads a user's
``--config`` file), so the dashboard, the CLI and the worker share one definition.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from dataclasses import dataclass
from typing import Any

from mnist_lab.data import EMBEDDED_SHA256
from mnist_lab.models import PRESETS, has_convolutions, preset_layers, validate_layers
from mnist_lab.preprocess import NORMALIZATIONS

ENGINE = "keras"
CUSTOM = "custom"
OPTIMIZERS = ("sgd", "adam", "rmsprop")
LR_SCHEDULES = ("none", "exponential", "cosine")
MAX_SEED = 2**32 - 1
N_TRAIN = 60_000
# Keys that config.json holds besides the fields: written by `to_dict` or `RunStore.create`.
METADATA_KEYS = ("engine", "label", "dataset", "versions", "created", "name")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass
class TrainConfig:
    """The settings of one Keras training run.

    Attributes
    ----------
    preset : str
        A name from `mnist_lab.models.PRESETS`, or ``"custom"`` to train ``layers``.
    layers : list of dict, optional
        The hidden layers of a custom architecture (see `models.validate_layers`).
    optimizer : {"sgd", "adam", "rmsprop"}
    learning_rate : float
        Initial learning rate, in (0, 100].
    momentum : float
        SGD momentum in [0, 1); only for ``optimizer="sgd"``.
    nesterov : bool
        Nesterov momentum; only for SGD with momentum > 0.
    lr_schedule : {"none", "exponential", "cosine"}
        ``exponential`` multiplies the rate by ``lr_decay_rate`` every epoch (smoothly);
        ``cosine`` anneals it to ``lr_min_fraction`` times the initial rate at the end.
    lr_decay_rate : float
        In (0, 1]; used by the exponential schedule.
    lr_min_fraction : float
        In [0, 1); used by the cosine schedule.
    batch_size : int
        In [1, 8192].
    epochs : int
        In [1, 500].
    val_split : float
        Share of the training images held out for validation, in [0, 0.5].
    normalization : {"raw", "scale", "standardize", "per-pixel"}
        See `mnist_lab.preprocess.NORMALIZATIONS`; fitted on the training split only.
    seed : int
        Seeds weights, shuffling, the subset and the validation split; in [0, 2**32 - 1].
    subset : int, optional
        Train on this many randomly chosen training images (in [100, 60000]).
    early_stopping_patience : int, optional
        Stop once the validation loss has not improved for this many epochs (in [1, 100]);
        needs ``val_split > 0``.
    record_gradients : bool, optional
        Record per-layer gradient norms while training; None means on for networks
        without convolutions (where it is cheap and the lesson lives).
    """

    preset: str = "mlp-relu"
    layers: list[dict] | None = None
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    lr_schedule: str = "none"
    lr_decay_rate: float = 0.5
    lr_min_fraction: float = 0.0
    batch_size: int = 32
    epochs: int = 5
    val_split: float = 0.1
    normalization: str = "scale"
    seed: int = 0
    subset: int | None = None
    early_stopping_patience: int | None = None
    record_gradients: bool | None = None

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

    @property
    def gradients_recorded(self) -> bool:
        """Whether gradient norms are recorded: the explicit choice, else dense nets only."""
        if self.record_gradients is None:
            return not has_convolutions(self.model_layers())
        return self.record_gradients

    def validate(self) -> TrainConfig:
        """Check every field; return ``self`` so calls can chain.

        Raises
        ------
        ValueError
            Naming the first bad field and its allowed values or range.
        """
        if self.preset != CUSTOM and self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {[*PRESETS, CUSTOM]}, got {self.preset!r}")
        if self.preset != CUSTOM and self.layers is not None:
            raise ValueError("layers are only used with preset 'custom'; leave them out")
        self.model_layers()
        self._check_choice("optimizer", OPTIMIZERS)
        self._check_choice("lr_schedule", LR_SCHEDULES)
        self._check_choice("normalization", tuple(NORMALIZATIONS))
        self._check_range("learning_rate", 0, 100, low_open=True)
        self._check_range("momentum", 0, 1, high_open=True)
        self._check_range("lr_decay_rate", 0, 1, low_open=True)
        self._check_range("lr_min_fraction", 0, 1, high_open=True)
        self._check_range("val_split", 0, 0.5)
        self._check_range("batch_size", 1, 8192, whole=True)
        self._check_range("epochs", 1, 500, whole=True)
        self._check_range("seed", 0, MAX_SEED, whole=True)
        self._check_range("subset", 100, N_TRAIN, whole=True, optional=True)
        self._check_range("early_stopping_patience", 1, 100, whole=True, optional=True)
        if not isinstance(self.nesterov, bool):
            raise ValueError(f"nesterov must be true or false, got {self.nesterov!r}")
        if self.record_gradients not in (None, True, False):
            raise ValueError(
                f"record_gradients must be true, false or null, got {self.record_gradients!r}"
            )
        if self.optimizer != "sgd" and (self.momentum or self.nesterov):
            raise ValueError("momentum and nesterov apply to optimizer 'sgd' only")
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs a momentum in (0, 1)")
        if self.early_stopping_patience is not None and self.val_split == 0:
            raise ValueError("early stopping watches the validation loss: set val_split > 0")
        return self

    def _check_choice(self, field: str, allowed: tuple[str, ...]) -> None:
        if getattr(self, field) not in allowed:
            raise ValueError(
                f"{field} must be one of {list(allowed)}, got {getattr(self, field)!r}"
            )

    def _check_range(
        self,
        field: str,
        low: float,
        high: float,
        *,
        whole: bool = False,
        optional: bool = False,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        value = getattr(self, field)
        if value is None and optional:
            return
        inside = (
            (_is_whole(value) if whole else _is_number(value))
            and (low < value if low_open else low <= value)
            and (value < high if high_open else value <= high)
        )
        if not inside:
            kind = "a whole number" if whole else "a number"
            interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            none = " or null" if optional else ""
            raise ValueError(f"{field} must be {kind} in {interval}{none}, got {value!r}")

    def to_dict(self) -> dict:
        """The run's ``config.json``: every field plus engine, label, dataset and versions.

        ``layers`` always holds the hidden layers that are built (a preset's too), and
        ``record_gradients`` the resolved choice, so the file alone says what was trained.
        """
        self.validate()
        return {
            "engine": ENGINE,
            "label": self.label,
            **dataclasses.asdict(self),
            "layers": self.model_layers(),
            "record_gradients": self.gradients_recorded,
            "dataset": {"name": "MNIST", "sha256": EMBEDDED_SHA256},
            "versions": {name: _package_version(name) for name in ("tensorflow", "keras", "numpy")},
        }

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Read a config written by `to_dict`, or a user's partial one (defaults fill the rest).

        Raises
        ------
        ValueError
            If a key is unknown, the engine is not ``keras``, or a value is out of range.
        """
        if not isinstance(data, dict):
            raise ValueError("a training config must be a JSON object")
        fields = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(fields) - set(METADATA_KEYS))
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; allowed: {fields}")
        if data.get("engine", ENGINE) != ENGINE:
            raise ValueError(f"this config is for engine {data['engine']!r}, not {ENGINE!r}")
        values = {key: data[key] for key in fields if key in data}
        if values.get("preset", cls.preset) != CUSTOM:
            # A preset's layers are written for the record only; the preset defines them.
            values.pop("layers", None)
        return cls(**values).validate()

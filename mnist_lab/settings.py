"""Settings declared once: every engine's settings class is a dataclass of `setting` fields.

Each field declares its default, its type, its range or choices, its label and help text.
Validation, ``config.json`` (`Settings.to_dict` / `Settings.from_dict`), the CLI flags
(`mnist_lab.cli`) and the Train page's widgets (``dashboard/ui/train/settings_form.py``) all read
these declarations, so a default or a limit lives in exactly one place::

    @dataclass
    class MySettings(Settings):
        engine: ClassVar[str] = "mine"
        epochs: int = setting(5, kind=int, low=1, high=100, label="Epochs")
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

from mnist_lab.architecture import Architecture
from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.data import EMBEDDED_SHA256, MNIST_N_TRAIN
from mnist_lab.preprocess import NORMALIZATIONS

# Keys that config.json holds besides the settings: written by `to_dict` or `RunStore.create`;
# ``sweep`` tags a sweep's trial (`mnist_lab.sweeps.store`).
METADATA_KEYS = ("engine", "label", "dataset", "versions", "created", "name", "sweep", "owner")
MAX_SEED = 2**32 - 1
MIN_SUBSET = 100
# The steps a learning-rate or batch-size picker offers, for every engine that trains in steps.
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
KINDS = (int, float, bool, str, list)
# A recorded setting is plain JSON of modest size: a number, a text, a flag, or a list (of
# layers) of those and of objects, never nested deeper than a layer's fields.
MAX_TEXT_LENGTH = 1000
MAX_LIST_LENGTH = 1000
MAX_DEPTH = 3
# Larger whole numbers would overflow the floats that ranges are compared in.
LARGEST_NUMBER = 2**53
# Numbers as a person types them on the command line, in ASCII digits only.
ASCII_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
ASCII_NUMBER = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,3})?")
_KIND_WORDS = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "a text",
    list: "a list",
}


@dataclass(frozen=True)
class Setting:
    """The declaration of one setting: what values it takes and how to present it.

    Attributes
    ----------
    name : str
        The field's name (filled in by `Settings.declared`).
    default : Any
        The value when none is given.
    kind : type
        One of ``int``, ``float``, ``bool``, ``str``, ``list``.
    low, high : float, optional
        The allowed range (inclusive unless ``low_open`` / ``high_open``).
    choices : tuple, optional
        The allowed values of a ``str`` setting.
    optional : bool
        Whether ``None`` is allowed; ``none_means`` says what it means.
    label, help : str
        Widget label and help text (also the CLI flag's help).
    options : tuple, optional
        The values a slider offers in the dashboard (the default must be one of them).
    log : bool
        Whether the range spans orders of magnitude (a log-scale widget).
    advanced : bool
        Whether the Train page tucks it away with the settings few people change.
    step : float, optional
        The resolution of a slider (0.01 when not given).
    flag : str, optional
        The CLI flag when it differs from ``--name-with-dashes``.
    picks_dataset : bool
        Whether it names the dataset: the dashboard draws a picker of the stored datasets
        for it, and a sweep keeps it fixed for every trial.
    decides_speed : bool
        Whether it changes how fast a run trains per sample (the model's size, the batch):
        runs alike in these settings predict each other's training time.
    """

    default: Any
    kind: type
    name: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    optional: bool = False
    none_means: str = ""
    label: str = ""
    help: str = ""
    options: tuple | None = None
    log: bool = False
    advanced: bool = False
    step: float | None = None
    flag: str | None = None
    picks_dataset: bool = False
    decides_speed: bool = False

    @property
    def cli_flag(self) -> str:
        """The command-line flag of this setting, e.g. ``--batch-size``."""
        return self.flag or "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``a whole number in [1, 500]``."""
        if self.choices is not None:
            words = f"one of {list(self.choices)}"
        else:
            words = _KIND_WORDS[self.kind]
            if self.low is not None and self.high is not None:
                left = "(" if self.low_open else "["
                right = ")" if self.high_open else "]"
                words += f" in {left}{self.low:g}, {self.high:g}{right}"
        if self.optional:
            words += f", or left empty ({self.none_means or 'none'})"
        return words

    def parse(self, text: str) -> Any:
        """The value that ``text`` (a command-line flag's) writes, of this setting's kind.

        Numbers must be written in the digits 0-9, as `int` and `float` would also read
        other scripts' digits ("３", "٣").

        Raises
        ------
        ValueError
            If ``text`` is not a number of the setting's kind.

        Examples
        --------
        >>> Setting(5, int, name="epochs").parse("３")
        Traceback (most recent call last):
        ...
        ValueError: epochs must be a whole number written in the digits 0-9, got '３'
        """
        if self.kind is int and ASCII_WHOLE.fullmatch(text):
            return int(text)
        if self.kind is float and ASCII_NUMBER.fullmatch(text):
            return float(text)
        if self.kind in (int, float):
            raise ValueError(
                f"{self.name} must be {_KIND_WORDS[self.kind]} written in the digits 0-9, "
                f"got {text!r}"
            )
        return self.kind(text)

    def check(self, value: Any) -> None:
        """Raise ``ValueError`` naming the setting and its allowed values unless ``value`` fits."""
        if value is None and self.optional:
            return
        if not self._fits(value):
            raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")

    def _fits(self, value: Any) -> bool:
        if isinstance(value, int) and abs(value) > LARGEST_NUMBER:
            return False
        if self.kind is bool:
            return isinstance(value, bool)
        if self.kind is str:
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        if self.kind is list:
            return isinstance(value, list)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


def setting(default: Any, kind: type, **declaration: Any) -> Any:
    """Declare a settings field: ``epochs: int = setting(5, int, low=1, high=500)``.

    Parameters
    ----------
    default : Any
        The default value (a list default is copied for every instance).
    kind : type
        One of ``int``, ``float``, ``bool``, ``str``, ``list``.
    **declaration
        The other attributes of `Setting`.

    Returns
    -------
    dataclasses.Field
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    metadata = {"setting": Setting(default=default, kind=kind, **declaration)}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def seed_setting() -> Any:
    """The ``seed`` field every engine shares.

    Its declared default (0) is what code that builds settings itself gets (a lesson, a
    recipe, a benchmark): the same run every time. The Train page and ``train`` draw a
    `fresh_seed` for each run instead, unless one is fixed.
    """
    return setting(
        0,
        int,
        low=0,
        high=MAX_SEED,
        label="Seed",
        help="Seeds the weights, the shuffling, the subset and the validation split; the same "
        "seed and settings train the same model again. The Train page and train draw a fresh "
        "one for each run unless one is given (a baseline keeps this default).",
    )


def fresh_seed() -> int:
    """A seed drawn for a run that fixes none, in `seed_setting`'s range (recorded in the run)."""
    return secrets.randbelow(MAX_SEED + 1)


def subset_setting() -> Any:
    """The ``subset`` field every engine shares."""
    return setting(
        None,
        int,
        low=MIN_SUBSET,
        high=MNIST_N_TRAIN,
        optional=True,
        none_means="all 60,000 training images",
        label=f"Training subset ({MIN_SUBSET:,}-{MNIST_N_TRAIN:,}; 0 = all)",
        help="Train on this many randomly chosen training images.",
    )


def val_split_setting() -> Any:
    """The ``val_split`` field of the network engines."""
    return setting(
        0.1,
        float,
        low=0.0,
        high=0.5,
        label="Validation share",
        help="Share of the training images held out to watch for overfitting.",
    )


def dataset_setting() -> Any:
    """The ``dataset`` field every engine shares: the name of the data to train and test on."""
    return setting(
        MNIST,
        str,
        picks_dataset=True,
        label="Dataset",
        help="MNIST, or a dataset added on the Data page (or with `python -m mnist_lab "
        "dataset add`). config.json records its name and SHA-256.",
    )


def normalization_setting() -> Any:
    """The ``normalization`` field every engine shares."""
    return setting(
        "scale",
        str,
        choices=tuple(NORMALIZATIONS),
        label="Input normalization",
        help="Fitted on the training split only: "
        + "; ".join(f"{name}: {what}" for name, what in NORMALIZATIONS.items()),
    )


# Installed versions do not change while the lab runs; each lookup searches every sys.path entry.
@functools.cache
def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_plain(name: str, value: Any, depth: int = 0) -> None:
    """Raise ``ValueError`` unless ``value``, recorded as setting ``name``, is plain JSON.

    Plain: null, a flag, a finite number no larger than `LARGEST_NUMBER`, a text of at most
    `MAX_TEXT_LENGTH` characters, or a list or object of such values at most `MAX_DEPTH`
    deep and `MAX_LIST_LENGTH` long. Whatever engine recorded it, no page can then fail on
    its form.

    Examples
    --------
    >>> check_plain("epochs", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: epochs is not a finite number (nan)
    """
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > LARGEST_NUMBER:
            raise ValueError(f"{name} is a number too large ({len(str(abs(value)))} digits)")
        if not math.isfinite(value):
            raise ValueError(f"{name} is not a finite number ({value!r})")
        return
    if isinstance(value, str):
        if len(value) > MAX_TEXT_LENGTH:
            raise ValueError(f"{name} is a text longer than {MAX_TEXT_LENGTH} characters")
        return
    if not isinstance(value, list | dict) or depth >= MAX_DEPTH:
        raise ValueError(f"{name} is nested too deeply or is not a setting's value")
    if len(value) > MAX_LIST_LENGTH:
        raise ValueError(f"{name} has more than {MAX_LIST_LENGTH} entries")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        check_plain(f"{name}[{key!r}]", item, depth + 1)


# Each engine's settings class, by engine name, as its module defines it.
_BY_ENGINE: dict[str, type[Settings]] = {}


def check_recorded(config: dict) -> bool:
    """Check a run's recorded ``config``'s settings; return whether against its engine's.

    Every setting must be plain JSON (`check_plain`); once the engine's settings class is
    defined (the registry imports it on first use), the config must also read back through
    its `Settings.from_dict`: each value of its kind and in its range.

    Returns
    -------
    bool
        True when the engine's declarations were checked too, False when they are not
        known yet.

    Raises
    ------
    ValueError
        Naming the first setting that is wrong.
    """
    for name, value in config.items():
        if name not in METADATA_KEYS:
            check_plain(name, value)
    engine = config.get("engine")
    declared = _BY_ENGINE.get(engine) if isinstance(engine, str) else None
    if declared is not None:
        declared.from_dict(config)
    return declared is not None


@dataclass
class Settings:
    """Base of every engine's settings: validation and ``config.json`` from the declarations.

    Subclasses are dataclasses whose fields are all made with `setting`; they set the class
    attributes ``engine`` (the registry name) and ``packages`` (whose versions are recorded),
    and may override `label`, `check_combination`, `recorded` and `_read`. Settings that pick
    a network declare it as an `Architecture` (``architecture``).
    """

    engine: ClassVar[str] = ""
    packages: ClassVar[tuple[str, ...]] = ("numpy",)
    architecture: ClassVar[Architecture | None] = None
    # The setting that chooses (an optimizer, a method), and each setting only some of its
    # choices use with those choices: what `without_unused` resets.
    used_only_with: ClassVar[tuple[str, dict[str, tuple]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The first class naming an engine is its settings (the engine's own module).
        _BY_ENGINE.setdefault(cls.engine, cls)

    @classmethod
    def declared(cls) -> dict[str, Setting]:
        """Every field's `Setting`, in declaration order, keyed by name (the caller's copy)."""
        return dict(_declarations(cls))

    @property
    def label(self) -> str:
        """Short description of what is trained, for run lists and ids."""
        return self.engine

    def validate(self):
        """Check every field, then the combinations; return ``self`` so calls can chain.

        Raises
        ------
        ValueError
            Naming the first bad field and its allowed values.
        """
        for name, declaration in self.declared().items():
            declaration.check(getattr(self, name))
        self.check_combination()
        return self

    def check_combination(self) -> None:
        """Raise ``ValueError`` for settings that are valid alone but contradict each other."""

    def multiply_adds_per_image(self) -> int | None:
        """Multiply-adds of one image's forward pass, for a model whose cost grows with its
        layers (`mnist_lab.timing` bounds a run's cost with it); None when it does not."""
        return None

    @classmethod
    def recommended(cls, values: dict) -> dict:
        """Settings recommended for the chosen ``values`` (a preset's recipe); given ones win."""
        return {}

    @classmethod
    def without_unused(cls, values: dict) -> dict:
        """``values`` with the settings the other choices ignore put back to their defaults.

        A form shows every setting at once; one the chosen optimizer ignores is reset rather
        than refused, as a notebook would simply not pass it. Which settings only some
        choices use is declared once, in `used_only_with`.
        """
        if cls.used_only_with is None:
            return values
        chooser, users = cls.used_only_with
        declared = cls.declared()
        chosen = values.get(chooser, declared[chooser].default)
        return {
            name: declared[name].default if chosen not in users.get(name, (chosen,)) else value
            for name, value in values.items()
        }

    def recorded(self) -> dict:
        """The settings as ``config.json`` records them (subclasses resolve derived values)."""
        return dataclasses.asdict(self)

    def to_dict(self) -> dict:
        """The run's ``config.json``: engine, label, every setting, dataset and versions."""
        self.validate()
        return {
            "engine": self.engine,
            "label": self.label,
            **self.recorded(),
            "dataset": self.dataset_record(),
            "versions": {name: _package_version(name) for name in self.packages},
        }

    def dataset_record(self) -> dict:
        """The ``dataset`` of ``config.json``: its name, and its SHA-256 once known.

        A user dataset's hash is filled in by `mnist_lab.runs.RunStore.create`, which knows
        where the datasets are stored.
        """
        name = getattr(self, "dataset", MNIST)
        return {"name": MNIST, "sha256": EMBEDDED_SHA256} if name == MNIST else {"name": name}

    @classmethod
    def from_dict(cls, data: Any):
        """Read a config written by `to_dict`, or a user's partial one (defaults fill the rest).

        Raises
        ------
        ValueError
            If it is not an object, a key is unknown, the engine differs, or a value is
            invalid.
        """
        if not isinstance(data, dict):
            raise ValueError("a training config must be a JSON object")
        names = list(cls.declared())
        unknown = sorted(map(str, set(data) - set(names) - set(METADATA_KEYS)))
        if unknown:
            raise ValueError(
                f"unknown config key(s) {unknown} for engine {cls.engine!r}; allowed: {names}"
            )
        if data.get("engine", cls.engine) != cls.engine:
            raise ValueError(f"this config is for engine {data['engine']!r}, not {cls.engine!r}")
        values = {name: data[name] for name in names if name in data}
        if isinstance(values.get("dataset"), dict):
            # config.json records the dataset as {"name", "sha256"}; the setting is its name.
            values["dataset"] = values["dataset"].get("name", MNIST)
        return cls(**cls._read(values)).validate()

    @classmethod
    def resolve(cls, values: dict):
        """Validated settings of ``values``, a preset's recipe filling what they leave out.

        Raises
        ------
        ValueError
            As `from_dict`.
        """
        return cls.from_dict({**cls.recommended(values), **values})

    @classmethod
    def _read(cls, values: dict) -> dict:
        """Turn recorded values back into constructor arguments (subclasses undo `recorded`)."""
        return values


# A settings class's fields never change: the Train form asks for them dozens of times a rerun.
@functools.cache
def _declarations(settings_class: type[Settings]) -> dict[str, Setting]:
    return {
        field.name: dataclasses.replace(field.metadata["setting"], name=field.name)
        for field in dataclasses.fields(settings_class)
    }

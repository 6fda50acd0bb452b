"""The toolkit every engine writes its run's code with: `CodeStep` and the steps they share.

Each engine describes its run as `CodeStep`s (`mnist_lab.engines.base.Engine.export_steps`):
plain Keras, NumPy or scikit-learn, never ``mnist_lab``; `mnist_lab.export` writes them as a
script or a notebook. This module owns what every engine's code shares: which runs can be
exported, the run's settings as constants, loading MNIST (with ``MNIST_NPZ`` for classrooms
without internet), the subset and the validation split drawn exactly as `mnist_lab.data`
draws them, the normalization with the run's fitted constants, and the closing
``test accuracy: 0.XXXX`` line. Run names are user text: they only ever appear inside a
comment, as a repr.
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass
from typing import Any

from mnist_lab.data import EMBEDDED_SHA256, MNIST_N_TRAIN
from mnist_lab.preprocess import (
    MIN_STD,
    NORMALIZATIONS,
    NORMALIZER_FILE,
    Normalizer,
    load_normalizer,
)
from mnist_lab.runs import Run
from mnist_lab.settings import Settings

NPZ_ENV = "MNIST_NPZ"
# The file keras.datasets.mnist.load_data() downloads: the same arrays as the embedded copy.
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# Every exported program ends by printing this line, which tests and students compare.
ACCURACY_PREFIX = "test accuracy: "


@dataclass(frozen=True)
class CodeStep:
    """One step of an exported program: a notebook cell, or a commented block of a script.

    Attributes
    ----------
    comment : str
        What the step does and why, in a sentence or two (markdown in a notebook); empty
        when the code speaks for itself (a function with its docstring).
    code : str
        Python code that runs after the steps before it.
    """

    comment: str
    code: str


def check_exportable(run: Run, settings: Settings, exported: set[str]) -> None:
    """Refuse a run the exporter would get wrong, with a message that says why.

    Parameters
    ----------
    run : Run
        The run to export.
    settings : Settings
        Its validated settings.
    exported : set of str
        The settings the engine's exporter writes into the code (or knows not to matter,
        like what is recorded while training). A setting outside this set is refused unless
        it holds its declared default.

    Raises
    ------
    ValueError
        If the run trained on data other than MNIST, or uses a setting the exporter does
        not know.
    """
    dataset = run.config().get("dataset") or {}
    if dataset.get("sha256", EMBEDDED_SHA256) != EMBEDDED_SHA256:
        raise ValueError(f"run {run.id} trained on another dataset: only MNIST runs export")
    unknown = [
        name
        for name, declaration in settings.declared().items()
        if name not in exported and getattr(settings, name) != declaration.default
    ]
    if unknown:
        raise ValueError(
            f"run {run.id} sets {', '.join(unknown)}, which the code export does not write "
            "yet; export a run that leaves them at their defaults"
        )


def exportable(
    run: Run, settings_class: type[Settings], exported: set[str]
) -> tuple[Settings, Normalizer]:
    """The settings and fitted normalizer of a run an engine's exporter can write.

    Parameters
    ----------
    run : Run
        The run to export.
    settings_class : type of Settings
        Its engine's settings.
    exported : set of str
        The settings the exporter writes (see `check_exportable`).

    Returns
    -------
    settings : Settings
    normalizer : Normalizer

    Raises
    ------
    ValueError
        If the config is not valid, `check_exportable` refuses the run, or the run has not
        fitted its normalization yet.
    """
    settings = settings_class.from_dict(run.config())
    check_exportable(run, settings, exported)
    if not run.file(NORMALIZER_FILE).exists():
        raise ValueError(f"run {run.id} has not fitted its normalization yet: export it later")
    return settings, load_normalizer(run)


def constants_step(run: Run, settings: Settings, engine_constants: dict[str, Any]) -> CodeStep:
    """The run's settings as constants at the top, as in keras.io examples.

    ``SEED``, and ``SUBSET`` and ``VAL_SPLIT`` when the run uses them, come first: the data
    steps (`data_steps`) read them. A comment above them names the run.
    """
    values: dict[str, Any] = {"SEED": settings.seed}
    if settings.subset is not None:
        values["SUBSET"] = settings.subset
    if getattr(settings, "val_split", 0.0):
        values["VAL_SPLIT"] = settings.val_split
    values.update(engine_constants)
    lines = [f"{name} = {python_literal(value)}" for name, value in values.items()]
    return CodeStep("The run's settings.", "\n".join([_name_comment(run), *lines]))


def python_literal(value: Any) -> str:
    """Python source for a constant: a finite number, a bool, a text or a tuple of them.

    Texts get double quotes, as ruff formats them.

    Examples
    --------
    >>> python_literal(("W1", 0.5, True))
    '("W1", 0.5, True)'
    """
    if isinstance(value, tuple):
        return (
            "("
            + ", ".join(python_literal(item) for item in value)
            + ("," * (len(value) == 1))
            + ")"
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot export the non-finite value {value!r}")
    if not isinstance(value, bool | int | float):
        raise ValueError(f"cannot export the value {value!r}")
    return repr(value)


def _name_comment(run: Run) -> str:
    """A comment line naming the run; the name is user text, so it is written as a repr."""
    try:
        name = run.config().get("name")
    except ValueError:
        name = None
    return f"# Run {str(name)!r} in MNIST Lab" if name else f"# Run {run.id} in MNIST Lab"


def load_data_step(with_keras: bool) -> CodeStep:
    """Load MNIST from ``MNIST_NPZ`` or download it (with Keras, or with urllib without it)."""
    read_npz = f"""\
with np.load(os.environ["{NPZ_ENV}"], allow_pickle=False) as data:
    x_train, y_train = data["x_train"], data["y_train"]
    x_test, y_test = data["x_test"], data["y_test"]"""
    if with_keras:
        code = f"""\
if "{NPZ_ENV}" in os.environ:
{textwrap.indent(read_npz, "    ")}
else:
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()"""
        source = "keras.datasets.mnist.load_data()"
    else:
        code = f"""\
MNIST_URL = "{MNIST_URL}"
if "{NPZ_ENV}" not in os.environ:
    os.environ["{NPZ_ENV}"] = "mnist.npz"
    if not os.path.exists("mnist.npz"):
        urllib.request.urlretrieve(MNIST_URL, "mnist.npz")
{read_npz}"""
        source = "the mnist.npz that keras.datasets.mnist.load_data() downloads"
    return CodeStep(
        f"Load MNIST: 60,000 training and 10,000 test digits, 28x28 uint8 pixels 0-255. The "
        f"file named by the {NPZ_ENV} environment variable when it is set (for classrooms "
        f"without internet), else {source}.",
        code,
    )


def subset_step() -> CodeStep:
    """Keep ``SUBSET`` training images, drawn as `mnist_lab.data.random_subset` draws them."""
    return CodeStep(
        f"Keep SUBSET of the {MNIST_N_TRAIN:,} training images, drawn at random with SEED and kept "
        "in order, exactly as MNIST Lab drew them, so these are the same digits.",
        """\
chosen = np.sort(np.random.default_rng(SEED).permutation(len(x_train))[:SUBSET])
x_train, y_train = x_train[chosen], y_train[chosen]""",
    )


def validation_split_step() -> CodeStep:
    """Hold out ``VAL_SPLIT``, as `mnist_lab.data.train_validation_split` does."""
    return CodeStep(
        "Hold out a random VAL_SPLIT share of the training images for validation (seeded with "
        "SEED, as MNIST Lab split them): the model never trains on them, they show overfitting.",
        """\
n_val = int(round(len(x_train) * VAL_SPLIT))
order = np.random.default_rng(SEED).permutation(len(x_train))
val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
x_val, y_val = x_train[val_idx], y_train[val_idx]
x_train, y_train = x_train[train_idx], y_train[train_idx]""",
    )


def normalize_step(normalizer: Normalizer, splits: list[str], layout: str) -> CodeStep:
    """Normalize the images as the run did, with the constants it fitted on its training split.

    Parameters
    ----------
    normalizer : Normalizer
        The run's fitted normalizer.
    splits : list of str
        The image arrays to normalize, e.g. ``["x_train", "x_val", "x_test"]``.
    layout : {"image", "flat"}
        ``(n, 28, 28, 1)`` for Keras layers, or ``(n, 784)`` rows for NumPy and scikit-learn.
    """
    if layout not in ("image", "flat"):
        raise ValueError(f"layout must be 'image' or 'flat', got {layout!r}")
    name = normalizer.name
    fitted = ""
    if name == "raw":
        formula = 'images.astype("float32")'
    elif name == "scale":
        formula = 'images.astype("float32") / 255'
    elif name == "standardize":
        mean, std = (float(normalizer.mean_), float(normalizer.std_))
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise ValueError("the run's normalizer.json holds a non-finite mean or std")
        fitted = (
            "# The mean and std MNIST Lab fitted on the training split (pixels scaled to [0, 1]).\n"
            f"MEAN, STD = {mean!r}, {std!r}\n"
        )
        formula = '(images.astype("float32") / 255 - MEAN) / STD'
    else:
        # 784 means and stds would fill a screen: fit them again on the very same split.
        fitted = (
            "# Each pixel's mean and std over the training split, as MNIST Lab fitted them;\n"
            f"# pixels that are always 0 keep a std of {MIN_STD} so they stay 0.\n"
            'MEAN = (x_train / 255).mean(axis=0).astype("float32")\n'
            f'STD = np.maximum((x_train / 255).std(axis=0), {MIN_STD!r}).astype("float32")\n'
        )
        formula = '(images.astype("float32") / 255 - MEAN) / STD'
    shape, shape_words = (
        ("[..., np.newaxis]", "28x28x1 images (one grey channel)")
        if layout == "image"
        else (".reshape(len(images), -1)", "rows of 784 pixels")
    )
    code = f"{fitted}\n\ndef normalize(images):\n    return ({formula}){shape}\n\n\n" + "\n".join(
        f"{split} = normalize({split})" for split in splits
    )
    return CodeStep(
        f"Normalize the pixels as the run did ({name}: {NORMALIZATIONS[name]}), into "
        f"{shape_words}.",
        code.strip(),
    )


def data_steps(settings: Settings, normalizer: Normalizer, for_keras: bool) -> list[CodeStep]:
    """Load, subset, split and normalize the data as the run did (see `constants_step`).

    Parameters
    ----------
    settings : Settings
        The run's settings: ``seed``, ``subset`` and (network engines) ``val_split``.
    normalizer : Normalizer
        The run's fitted normalizer.
    for_keras : bool
        Keras code downloads with Keras and gets ``(n, 28, 28, 1)`` images; other code
        downloads with urllib and gets ``(n, 784)`` rows.

    Returns
    -------
    list of CodeStep
    """
    steps = [load_data_step(with_keras=for_keras)]
    if settings.subset is not None:
        steps.append(subset_step())
    splits = ["x_train", "x_test"]
    if getattr(settings, "val_split", 0.0):
        steps.append(validation_split_step())
        splits = ["x_train", "x_val", "x_test"]
    steps.append(normalize_step(normalizer, splits, "image" if for_keras else "flat"))
    return steps


def print_accuracy_code(expression: str) -> str:
    """The program's last line: print ``expression`` as ``test accuracy: 0.XXXX``."""
    return f'print(f"{ACCURACY_PREFIX}{{{expression}:.4f}}")'

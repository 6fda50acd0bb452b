"""Robustness: test accuracy on digits rotated, shifted, scaled, thickened, noisy or blurred.

Each corruption is made from the test digits themselves (in the spirit of MNIST-C, Mu and
Gilmer 2019) over a range of strengths that starts at "unchanged", and every run is measured
on the same fixed sample of test digits, so their curves can be laid side by side. The
curves of a run are costly (tens of thousands of predictions), so they are kept in the run's
``robustness.json``, keyed by the model file's modification time: this module owns that file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from mnist_lab.assignments.heldout import dataset_cut
from mnist_lab.data import MnistDataset, random_subset
from mnist_lab.engines import engine_of
from mnist_lab.files import DamagedRunError, read_json
from mnist_lab.runs import Run

ROBUSTNESS_FILE = "robustness.json"
# Bumped when the corruptions or the sample change, so old curves are measured again (2: the
# sample is drawn from the visible part of the test split).
FORMAT_VERSION = 2
SAMPLE_SIZE = 2000
SAMPLE_SEED = 0


def _rotate(images: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """Every other digit turned the other way, so no direction is favoured."""
    turned = np.empty_like(images)
    for sign, rows in ((1, slice(0, None, 2)), (-1, slice(1, None, 2))):
        turned[rows] = ndimage.rotate(
            images[rows], sign * degrees, axes=(2, 1), reshape=False, order=1
        )
    return turned


def _shift(images: np.ndarray, pixels: float, rng: np.random.Generator) -> np.ndarray:
    """Right, down, left and up in turn, by whole pixels, with black coming in."""
    step = int(pixels)
    moved = np.empty_like(images)
    for direction, (dy, dx) in enumerate(((0, step), (step, 0), (0, -step), (-step, 0))):
        rows = slice(direction, None, 4)
        moved[rows] = ndimage.shift(images[rows], (0, dy, dx), order=0)
    return moved


def _scale(images: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Zoomed about the image centre: below 1 smaller, above 1 larger (and cropped)."""
    centre = (np.asarray(images.shape[1:]) - 1) / 2
    matrix = np.diag([1.0, 1.0 / factor, 1.0 / factor])
    offset = np.concatenate([[0.0], centre - centre / factor])
    return ndimage.affine_transform(images, matrix, offset=offset, order=1)


def _thickness(images: np.ndarray, pixels: float, rng: np.random.Generator) -> np.ndarray:
    """Strokes grown (positive) or worn away (negative) by a disk of that radius."""
    radius = int(abs(pixels))
    if radius == 0:
        return images.copy()
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disk = (x**2 + y**2 <= radius**2)[np.newaxis]
    morphology = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion
    return morphology(images, footprint=disk)


def _noise(images: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of ``std`` grey levels added to every pixel."""
    return images + rng.normal(0.0, std, images.shape) if std else images.copy()


def _blur(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian blur of ``sigma`` pixels."""
    return ndimage.gaussian_filter(images, (0, sigma, sigma)) if sigma else images.copy()


@dataclass(frozen=True)
class Corruption:
    """One way of damaging digits, over a range of strengths.

    Attributes
    ----------
    title : str
        What the page calls it.
    unit : str
        The strength's unit, for the x axis.
    strengths : tuple of float
        In plotting order; one of them is `identity`.
    identity : float
        The strength that leaves a digit unchanged.
    apply : callable
        ``apply(images, strength, rng)`` on float64 ``(n, 28, 28)`` pixels 0-255.
    """

    title: str
    unit: str
    strengths: tuple[float, ...]
    identity: float
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


CORRUPTIONS = {
    "rotation": Corruption("Rotation", "degrees", (0, 10, 20, 30, 45, 60), 0, _rotate),
    "shift": Corruption("Shift", "pixels", (0, 1, 2, 3, 4, 6), 0, _shift),
    "scale": Corruption("Scaling", "size factor", (0.5, 0.7, 0.85, 1.0, 1.2, 1.4), 1.0, _scale),
    "thickness": Corruption(
        "Stroke thickness", "pixels grown (negative: worn)", (-1, 0, 1, 2, 3), 0, _thickness
    ),
    "noise": Corruption(
        "Gaussian noise", "standard deviation (grey levels)", (0, 32, 64, 96, 128), 0, _noise
    ),
    "blur": Corruption("Blur", "Gaussian sigma (pixels)", (0, 0.5, 1.0, 1.5, 2.0, 3.0), 0, _blur),
}


def corrupt(images: np.ndarray, corruption: str, strength: float, seed: int = 0) -> np.ndarray:
    """Damage digits with one corruption at one strength.

    Parameters
    ----------
    images : numpy.ndarray
        One 28x28 digit or a batch ``(n, 28, 28)``, pixel values 0-255.
    corruption : str
        A key of `CORRUPTIONS`.
    strength : float
        In the corruption's unit; its ``identity`` strength returns the digits unchanged.
    seed : int, default 0
        Seeds the noise.

    Returns
    -------
    numpy.ndarray
        uint8 digits of the same shape, rounded and clipped to 0-255.

    Examples
    --------
    >>> digit = np.zeros((28, 28), dtype=np.uint8); digit[10, 10] = 255
    >>> np.argwhere(corrupt(digit, "shift", 2)).tolist()
    [[10, 12]]
    """
    if corruption not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {list(CORRUPTIONS)}, got {corruption!r}")
    images = np.asarray(images)
    batch = images.astype(np.float64).reshape(-1, *images.shape[-2:])
    damaged = CORRUPTIONS[corruption].apply(batch, strength, np.random.default_rng(seed))
    return np.clip(np.rint(damaged), 0, 255).astype(np.uint8).reshape(images.shape)


def robustness_curves(
    run: Run,
    images: np.ndarray,
    labels: np.ndarray,
    model: Any = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Accuracy of ``run`` on ``images`` under every corruption at every strength.

    Parameters
    ----------
    run : Run
        A run with a saved model (any engine).
    images, labels : numpy.ndarray
        Test digits ``(n, 28, 28)`` uint8 and their labels.
    model : Any, optional
        The run's loaded model, if the caller cached it.
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` after each strength.

    Returns
    -------
    pandas.DataFrame
        One row per corruption and strength: ``corruption``, ``strength``, ``accuracy``.
        The identity strengths are measured once, on the unchanged digits.
    """
    engine = engine_of(run)
    labels = np.asarray(labels)
    grid = [(name, s) for name, c in CORRUPTIONS.items() for s in c.strengths if s != c.identity]
    total = len(grid) + 1
    clean = float((engine.predict_proba(run, images, model=model).argmax(axis=1) == labels).mean())
    if on_progress is not None:
        on_progress(1, total)
    accuracy = {}
    for done, (name, strength) in enumerate(grid, start=2):
        damaged = corrupt(images, name, strength)
        predicted = engine.predict_proba(run, damaged, model=model).argmax(axis=1)
        accuracy[name, strength] = float((predicted == labels).mean())
        if on_progress is not None:
            on_progress(done, total)
    rows = [
        {
            "corruption": name,
            "strength": float(strength),
            "accuracy": clean if strength == c.identity else accuracy[name, strength],
        }
        for name, c in CORRUPTIONS.items()
        for strength in c.strengths
    ]
    return pd.DataFrame(rows, columns=["corruption", "strength", "accuracy"])


def robustness_sample(
    dataset: MnistDataset, size: int = SAMPLE_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """The fixed random sample of test digits every run is measured on.

    Drawn from the digits an assignment on the dataset leaves visible (`dataset_cut`): an
    unchanged digit's accuracy must not tell students anything about the hidden part.
    """
    visible = ~dataset_cut(dataset.sha256, len(dataset.y_test))
    x, y = dataset.x_test[visible], dataset.y_test[visible]
    return random_subset(x, y, min(size, len(y)), seed=SAMPLE_SEED)


def read_robustness(
    run: Run, dataset: MnistDataset, size: int = SAMPLE_SIZE
) -> pd.DataFrame | None:
    """The run's stored curves if they were measured on its current model, else None."""
    try:
        stored = read_json(run.file(ROBUSTNESS_FILE))
    except (FileNotFoundError, DamagedRunError):
        return None
    if stored.get("key") != _cache_key(run, dataset, size):
        return None
    return pd.DataFrame(stored.get("rows", []), columns=["corruption", "strength", "accuracy"])


def measure_robustness(
    run: Run,
    dataset: MnistDataset,
    model: Any = None,
    on_progress: Callable[[int, int], None] | None = None,
    size: int = SAMPLE_SIZE,
) -> pd.DataFrame:
    """The run's curves on the fixed test sample: read from ``robustness.json`` or measured
    (and stored there).

    Parameters
    ----------
    run : Run
        A run with a saved model.
    dataset : MnistDataset
        Its test digits are sampled (see `robustness_sample`).
    model : Any, optional
    on_progress : callable, optional
        As for `robustness_curves`; not called when the curves are stored.
    size : int, default 2000

    Returns
    -------
    pandas.DataFrame
        As `robustness_curves` returns it.
    """
    stored = read_robustness(run, dataset, size)
    if stored is not None:
        return stored
    images, labels = robustness_sample(dataset, size)
    curves = robustness_curves(run, images, labels, model=model, on_progress=on_progress)
    run.write_json(
        ROBUSTNESS_FILE,
        {"key": _cache_key(run, dataset, size), "rows": curves.to_dict("records")},
    )
    return curves


def _cache_key(run: Run, dataset: MnistDataset, size: int) -> dict:
    """What the stored curves depend on: the model's save time, the digits, the corruptions."""
    model_file = engine_of(run).model_file(run)
    return {
        "version": FORMAT_VERSION,
        "model_mtime": model_file.stat().st_mtime if model_file else None,
        "dataset_sha256": dataset.sha256,
        "size": size,
        "strengths": {name: list(c.strengths) for name, c in CORRUPTIONS.items()},
    }

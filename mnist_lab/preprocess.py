"""Input normalizations, fitted on the training split only and stored with each run.

The lesson they carry: raw 0-255 pixels with a large learning rate saturate or diverge;
scaling to [0, 1] or standardizing to mean 0, std 1 makes the same network learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mnist_lab.files import DamagedRunError, read_json

if TYPE_CHECKING:
    from mnist_lab.runs import Run

NORMALIZATIONS = {
    "raw": "raw pixels 0-255, unchanged",
    "scale": "pixels divided by 255, so in [0, 1]",
    "standardize": "(pixel/255 - mean) / std with the training set's global mean and std",
    "per-pixel": "each pixel standardized with its own training mean and std",
}
NORMALIZER_FILE = "normalizer.json"
# Pixels that are (almost) always 0 have std 0: dividing by this floor keeps them at 0.
MIN_STD = 1e-3


@dataclass
class Normalizer:
    """A fitted input transform: ``(x * scale - mean_) / std_``.

    Attributes
    ----------
    name : str
        One of `NORMALIZATIONS`.
    mean_, std_ : numpy.ndarray
        Fitted statistics in units of ``x * scale``: scalars for the global transforms,
        28x28 arrays for ``per-pixel``.
    """

    name: str
    mean_: np.ndarray = field(default_factory=lambda: np.zeros(()))
    std_: np.ndarray = field(default_factory=lambda: np.ones(()))

    @property
    def scale(self) -> float:
        """Multiplier applied to the uint8 pixels before centring."""
        return 1.0 if self.name == "raw" else 1.0 / 255.0

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Normalize uint8 images (any leading shape, last two 28x28) to float32."""
        out = np.asarray(x, dtype=np.float32) * np.float32(self.scale)
        if self.name in ("standardize", "per-pixel"):
            out -= self.mean_.astype(np.float32)
            out /= self.std_.astype(np.float32)
        return out

    def derivative(self) -> np.ndarray:
        """d transform(x) / dx: a scalar, or 28x28 for ``per-pixel``.

        Multiplying a gradient with respect to the normalized input by it gives the gradient
        with respect to the 0-255 pixels (the chain rule through this affine transform).
        """
        if self.name in ("standardize", "per-pixel"):
            return self.scale / np.asarray(self.std_, dtype=np.float64)
        return np.asarray(self.scale, dtype=np.float64)

    def to_dict(self) -> dict:
        """JSON-ready form, stored in the run so evaluation and predictions match training."""
        return {"name": self.name, "mean": self.mean_.tolist(), "std": self.std_.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Normalizer:
        """Rebuild a normalizer saved with `to_dict`.

        Raises
        ------
        ValueError
            If a field is missing, the name unknown, or the statistics not numbers of the
            right shape (a scalar, or 28x28 for ``per-pixel``).
        """
        try:
            name, mean, std = data["name"], data["mean"], data["std"]
            mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"a normalizer needs name, mean and std numbers ({error})") from None
        check_normalization(name)
        shape = (28, 28) if name == "per-pixel" else ()
        if mean.shape != shape or std.shape != shape or not np.all(np.isfinite(std)):
            raise ValueError(f"a {name!r} normalizer needs mean and std of shape {shape}")
        return cls(name, mean, std)


def check_normalization(name: str) -> str:
    """Return ``name`` if it is a known normalization, else raise ``ValueError`` naming them."""
    if name not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {list(NORMALIZATIONS)}, got {name!r}")
    return name


def fit_normalizer(name: str, x_train: np.ndarray) -> Normalizer:
    """Fit a normalization on the training images only.

    Parameters
    ----------
    name : {"raw", "scale", "standardize", "per-pixel"}
    x_train : numpy.ndarray
        uint8 training images, shape ``(n, 28, 28)``.

    Returns
    -------
    Normalizer

    Examples
    --------
    >>> x = np.array([[[0, 255]], [[255, 255]]], dtype=np.uint8)
    >>> float(abs(fit_normalizer("standardize", x).transform(x).mean())) < 1e-6
    True
    """
    check_normalization(name)
    if name in ("raw", "scale"):
        return Normalizer(name)
    scaled = np.asarray(x_train, dtype=np.float64) / 255.0
    if name == "standardize":
        return Normalizer(name, np.asarray(scaled.mean()), np.asarray(scaled.std()))
    return Normalizer(name, scaled.mean(axis=0), np.maximum(scaled.std(axis=0), MIN_STD))


def save_normalizer(run: Run, normalizer: Normalizer) -> None:
    """Store the fitted normalizer in the run (``normalizer.json``), for predictions later."""
    run.write_json(NORMALIZER_FILE, normalizer.to_dict())


def load_normalizer(run: Run) -> Normalizer:
    """The normalizer ``run`` was trained with; `DamagedRunError` if the file is unreadable."""
    try:
        return Normalizer.from_dict(read_json(run.file(NORMALIZER_FILE)))
    except DamagedRunError:
        raise
    except ValueError as error:
        raise DamagedRunError(f"{NORMALIZER_FILE} is malformed: {error}") from None

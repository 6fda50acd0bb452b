"""Looking inside trained networks, whatever engine trained them: weights as images, gradient
flow and histograms read from the run's records.

Each engine gives its own weights and layer outputs (`mnist_lab.engines.base.Engine`); this
module turns them into images and tables, and reads the ``gradients`` and ``histograms``
records every engine writes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mnist_lab import records
from mnist_lab.data import IMAGE_SHAPE

N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
# Gradient samples (per layer) averaged for the reading: recent, but not one noisy batch.
READING_SAMPLES = 5
VANISHING_RATIO = 100.0
SHRINKING_RATIO = 10.0
HISTOGRAM_QUANTITIES = ("weights", "activations")


def weight_images(kernel: np.ndarray) -> np.ndarray:
    """A dense layer's 784-input kernel as one 28x28 image per unit.

    Parameters
    ----------
    kernel : numpy.ndarray
        Shape ``(784, units)``, as Keras and the NumPy engine store it.

    Returns
    -------
    numpy.ndarray
        Shape ``(units, 28, 28)``: image ``i`` shows which pixels excite unit ``i``
        (positive) or inhibit it (negative).

    Raises
    ------
    ValueError
        If the kernel does not have 784 rows.

    Examples
    --------
    >>> weight_images(np.zeros((784, 3))).shape
    (3, 28, 28)
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != N_PIXELS:
        raise ValueError(f"kernel must have shape (784, units), got {kernel.shape}")
    return kernel.T.reshape(-1, *IMAGE_SHAPE)


def filter_images(kernel: np.ndarray) -> np.ndarray:
    """A Conv2D kernel as one small image per filter (input channels averaged).

    Parameters
    ----------
    kernel : numpy.ndarray
        Shape ``(height, width, in_channels, filters)``, the Keras layout.

    Returns
    -------
    numpy.ndarray
        Shape ``(filters, height, width)``.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"kernel must have shape (h, w, in, filters), got {kernel.shape}")
    return np.moveaxis(kernel.mean(axis=2), -1, 0)


def gradient_flow_table(metrics: list[dict]) -> pd.DataFrame:
    """The ``"gradients"`` records of ``metrics.jsonl`` as a tidy table.

    Parameters
    ----------
    metrics : list of dict
        A run's records (`Run.metrics`); other kinds are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns ``step``, ``epoch``, ``layer``, ``depth`` (0 = first layer),
        ``grad_norm`` (of all the layer's weights), ``grad_rms`` (per weight: the norm over
        the square root of the weight count), ``activation_mean_abs``; empty (same
        columns) without records.
    """
    rows = [
        {
            "step": record["step"],
            "epoch": record.get("epoch"),
            "layer": layer["name"],
            "depth": depth,
            "grad_norm": layer["grad_norm"],
            "grad_rms": layer["grad_rms"],
            "activation_mean_abs": layer.get("activation_mean_abs"),
        }
        for record in records.of_kind(metrics, "gradients")
        for depth, layer in enumerate(record.get("layers", []))
    ]
    columns = ["step", "epoch", "layer", "depth", "grad_norm", "grad_rms", "activation_mean_abs"]
    return pd.DataFrame(rows, columns=columns)


def gradient_ratios(table: pd.DataFrame, samples: int = READING_SAMPLES) -> pd.Series:
    """How many times smaller each layer's gradient is than the last layer's, per weight.

    The per-weight RMS gradient (``grad_rms``) is compared, not the layer norm: a norm grows
    with the square root of the number of weights, so a first layer over 784 pixels would
    look stronger than a 10-unit layer that learns just as fast. Values are averaged over
    each layer's last ``samples`` records. Above 1: the layer gets
    less gradient than the last one (vanishing on the way back); below 1: more (exploding).

    Returns
    -------
    pandas.Series
        Indexed by layer name, first to last; the last layer's entry is 1. A layer with a
        zero gradient gets ``inf``.
    """
    recent = _recent_layer_norms(table, samples)
    with np.errstate(divide="ignore"):
        return recent.iloc[-1] / recent


def gradient_flow_reading(table: pd.DataFrame, samples: int = READING_SAMPLES) -> str:
    """A plain-language reading of a gradient-flow table, computed from its numbers.

    The verdict follows the earlier layer that gets the least gradient per weight compared
    with the last layer (see `gradient_ratios`); usually the first layer.

    Parameters
    ----------
    table : pandas.DataFrame
        From `gradient_flow_table`.
    samples : int, default 5
        How many of the latest recorded steps are averaged.

    Returns
    -------
    str
        One to three sentences: vanishing, shrinking, exploding or flowing well, with the
        ratios that decide it.

    Examples
    --------
    >>> table = pd.DataFrame({"step": [1, 1], "layer": ["a", "b"], "depth": [0, 1],
    ...                       "grad_rms": [0.01, 0.02]})
    >>> gradient_flow_reading(table)
    'Gradients are within 2.0x across the 2 layers: they flow well, every layer learns.'
    """
    if table.empty:
        return "No gradient records yet: they appear after the first few training steps."
    ratios = gradient_ratios(table, samples)
    if len(ratios) < 2:
        return "Only one layer has weights, so there is no gradient flow to compare."
    first, last = ratios.index[0], ratios.index[-1]
    weakest, worst = ratios.idxmax(), float(ratios.max())
    if np.isinf(worst):
        return (
            f"No gradient reaches layer {weakest!r} at all: its units are dead or fully "
            "saturated, so it cannot learn. Try ReLU with a smaller learning rate."
        )
    if worst >= SHRINKING_RATIO:
        where = f"the first layer ({first!r})" if weakest == first else f"layer {weakest!r}"
        aside = ""
        if weakest != first:
            aside = f" The first layer ({first!r}) gets {ratios[first]:,.0f}x less."
        if worst >= VANISHING_RATIO:
            return (
                f"Gradients reaching {where} are {worst:,.0f}x smaller than at the last layer "
                f"({last!r}): vanishing gradients, so the early layers barely learn.{aside} "
                "Sigmoid saturates and its slope is at most 1/4; try ReLU, fewer layers, or "
                "batch normalization."
            )
        return (
            f"Gradients reaching {where} are {worst:,.0f}x smaller than at the last layer "
            f"({last!r}): the early layers learn more slowly.{aside} Not yet vanishing, but "
            "watch it as the network gets deeper."
        )
    strongest, least = ratios.idxmin(), float(ratios.min())
    if least <= 1 / VANISHING_RATIO:
        return (
            f"Gradients at layer {strongest!r} are {1 / least:,.0f}x larger than at the last "
            f"layer ({last!r}): exploding gradients. Lower the learning rate, normalize the "
            "inputs, or use batch normalization."
        )
    return (
        f"Gradients are within {worst / least:,.1f}x across the {len(ratios)} layers: they "
        "flow well, every layer learns."
    )


def _recent_layer_norms(table: pd.DataFrame, samples: int) -> pd.Series:
    """Mean per-weight gradient of each layer over its last ``samples`` records, by depth."""
    recent = table.sort_values("step").groupby(["depth", "layer"], sort=True).tail(samples)
    means = recent.groupby(["depth", "layer"], sort=True)["grad_rms"].mean()
    return means.droplevel("depth")


def histogram_layers(metrics: list[dict]) -> list[str]:
    """Names of the layers that have ``"histograms"`` records, first to last."""
    for record in records.of_kind(metrics, "histograms"):
        return [layer["name"] for layer in record.get("layers", [])]
    return []


def histogram_series(metrics: list[dict], layer: str, quantity: str = "weights") -> pd.DataFrame:
    """One layer's weight or activation histograms over the epochs, as a tidy table.

    Parameters
    ----------
    metrics : list of dict
        A run's records (`Run.metrics`).
    layer : str
        A name from `histogram_layers`.
    quantity : {"weights", "activations"}

    Returns
    -------
    pandas.DataFrame
        Columns ``epoch``, ``center`` (bin centre), ``width``, ``count``, ``share`` (of
        that epoch's values) and ``density`` (share per unit of value, comparable across
        epochs whose bins differ in width), one row per bin per epoch.

    Raises
    ------
    ValueError
        If ``quantity`` is not one of `HISTOGRAM_QUANTITIES`.
    """
    if quantity not in HISTOGRAM_QUANTITIES:
        raise ValueError(f"quantity must be one of {HISTOGRAM_QUANTITIES}, got {quantity!r}")
    frames = []
    for record in records.of_kind(metrics, "histograms"):
        for entry in record.get("layers", []):
            if entry["name"] != layer or quantity not in entry:
                continue
            counts = np.asarray(entry[quantity]["counts"], dtype=np.float64)
            edges = np.asarray(entry[quantity]["edges"], dtype=np.float64)
            share, width = counts / max(counts.sum(), 1.0), np.diff(edges)
            frames.append(
                pd.DataFrame(
                    {
                        "epoch": record["epoch"],
                        "center": (edges[:-1] + edges[1:]) / 2,
                        "width": width,
                        "count": counts,
                        "share": share,
                        # A constant layer has one zero-width bin: its density is undefined.
                        "density": np.divide(
                            share, width, out=np.full_like(share, np.nan), where=width > 0
                        ),
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=["epoch", "center", "width", "count", "share", "density"])
    return pd.concat(frames, ignore_index=True)


def digit_structure_score(weights: np.ndarray, class_mean_images: np.ndarray) -> float:
    """How much first-layer weight images look like digits: mean best |correlation|.

    For each unit, the Pearson correlation of its 28x28 weight image with each class's
    mean image; the score is the mean over units of the largest absolute value. Random
    initial weights score near 0.05; weights trained on MNIST pick up strokes and score
    several times higher.

    Parameters
    ----------
    weights : numpy.ndarray
        ``(units, 28, 28)`` weight images (see `weight_images`) or a ``(784, units)`` kernel.
    class_mean_images : numpy.ndarray
        ``(classes, 28, 28)``: the average image of each digit.

    Returns
    -------
    float
        In [0, 1].
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim == 2:
        weights = weight_images(weights)
    units = weights.reshape(len(weights), -1)
    means = np.asarray(class_mean_images, dtype=np.float64).reshape(len(class_mean_images), -1)
    correlation = _unit_rows(units) @ _unit_rows(means).T
    return float(np.abs(correlation).max(axis=1).mean())


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    """Centre each row and scale it to length 1 (a constant row stays all zero)."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)

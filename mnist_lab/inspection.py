"""Looking inside trained networks: weights as images, activations, gradient flow, histograms.

Everything the Inside page shows is computed here from a run directory, as plain arrays and
tidy tables. TensorFlow is imported only by the functions that need a Keras model, so
inspecting a NumPy or scikit-learn run never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.preprocess import load_normalizer
from mnist_lab.runs import CHECKPOINT_FILE, MODEL_FILE, Run

N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
# Both the NumPy engine and the scikit-learn baseline save their weights under this name.
WEIGHTS_FILE = "weights.npz"
# Gradient samples (per layer) averaged for the reading: recent, but not one noisy batch.
READING_SAMPLES = 5
VANISHING_RATIO = 100.0
SHRINKING_RATIO = 10.0
HISTOGRAM_QUANTITIES = ("weights", "activations")


@dataclass(frozen=True)
class LayerOutput:
    """What one layer produced for one input image.

    Attributes
    ----------
    name : str
        The layer's name (``hidden``, ``dense_1``, ``conv2d``...).
    kind : {"dense", "conv", "softmax", "other"}
        ``conv``: ``values`` are feature maps ``(channels, height, width)``; ``dense`` and
        ``softmax``: one value per unit; ``other``: flattened values of any other layer.
    values : numpy.ndarray
    """

    name: str
    kind: str
    values: np.ndarray


def engine_of(run: Run) -> str:
    """The engine that trained ``run`` (``keras``, ``sklearn`` or ``numpy``)."""
    return str(run.config().get("engine", "keras"))


def has_model(run: Run) -> bool:
    """Whether ``run`` has saved trained weights that can be inspected."""
    if engine_of(run) == "keras":
        # A live Keras run can be inspected from its last epoch checkpoint.
        return run.file(MODEL_FILE).exists() or run.file(CHECKPOINT_FILE).exists()
    return run.file(WEIGHTS_FILE).exists()


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


def first_layer_weights(run: Run, model: Any = None) -> np.ndarray | None:
    """The first dense layer's weights as ``(units, 28, 28)`` images, or None.

    None when the network starts with a convolution, or is a linear classifier (whose
    weights are its `digit_templates`).

    Parameters
    ----------
    run : Run
        A run with saved weights (see `has_model`).
    model : keras.Model, optional
        The run's Keras model if already loaded (pages cache it); loaded when needed.
    """
    engine = engine_of(run)
    if engine == "numpy":
        from mnist_lab.scratch import load_weights

        return weight_images(load_weights(run)["W1"])
    if engine != "keras":
        return None
    layers = _weighted_layers(_keras_model(run, model))
    if len(layers) < 2 or layers[0].__class__.__name__ != "Dense":
        return None
    return weight_images(np.asarray(layers[0].get_weights()[0]))


def conv_filters(run: Run, model: Any = None) -> np.ndarray | None:
    """The first Conv2D layer's filters as ``(filters, h, w)`` images, or None if none.

    ``model`` is the run's Keras model if already loaded, as in `first_layer_weights`.
    """
    if engine_of(run) != "keras":
        return None
    for layer in _weighted_layers(_keras_model(run, model)):
        if layer.__class__.__name__ == "Conv2D":
            return filter_images(np.asarray(layer.get_weights()[0]))
    return None


def digit_templates(run: Run, model: Any = None) -> np.ndarray | None:
    """Ten 28x28 images: the pixels that raise each digit's score, or None.

    * scikit-learn baseline and Keras softmax regression: the weight vector of each class;
      the score is exactly ``template . x + bias``.
    * NumPy engine: ``W1 @ W2``, the input direction that raises each digit's logit when
      the sigmoid units sit in their (near-linear) middle range.
    * Any deeper Keras network: None (no single template exists).

    ``model`` is the run's Keras model if already loaded, as in `first_layer_weights`.
    """
    engine = engine_of(run)
    if engine == "sklearn":
        from mnist_lab.baseline import load_weights

        return np.asarray(load_weights(run)[0]).reshape(-1, *IMAGE_SHAPE)
    if engine == "numpy":
        from mnist_lab.scratch import load_weights

        weights = load_weights(run)
        return weight_images(weights["W1"] @ weights["W2"])
    layers = _weighted_layers(_keras_model(run, model))
    if len(layers) == 1 and layers[0].__class__.__name__ == "Dense":
        return weight_images(np.asarray(layers[0].get_weights()[0]))
    return None


def layer_outputs(run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
    """What every layer of ``run``'s network outputs for one uint8 28x28 image.

    Parameters
    ----------
    run : Run
        A run with a saved model (NumPy or Keras engine; a baseline has one layer, its
        softmax).
    image : numpy.ndarray
        uint8 image, shape ``(28, 28)``.
    model : keras.Model, optional
        The run's Keras model if already loaded.

    Returns
    -------
    list of LayerOutput
        From the first layer to the softmax.
    """
    image = np.asarray(image, dtype=np.uint8).reshape(1, *IMAGE_SHAPE)
    engine = engine_of(run)
    if engine == "numpy":
        from mnist_lab.scratch import forward, load_weights

        hidden, probabilities = forward(load_weights(run), load_normalizer(run).transform(image))
        return [
            LayerOutput("hidden", "dense", hidden[0]),
            LayerOutput("output", "softmax", probabilities[0]),
        ]
    if engine == "sklearn":
        from mnist_lab.baseline import predict_proba_baseline

        return [LayerOutput("softmax", "softmax", predict_proba_baseline(run, image)[0])]

    x = load_normalizer(run).transform(image)[..., np.newaxis]
    return keras_layer_outputs(_keras_model(run, model), x)


def keras_layer_outputs(model: Any, x: np.ndarray) -> list[LayerOutput]:
    """Every layer's output for a batch of one prepared input, via one multi-output model.

    Parameters
    ----------
    model : keras.Model
        A built Sequential (or functional) model.
    x : numpy.ndarray
        The model's input for one image, e.g. shape ``(1, 28, 28, 1)``.

    Returns
    -------
    list of LayerOutput
    """
    import keras

    # One input tensor (not the list), so calling the probe on an array needs no wrapping.
    probe = keras.Model(inputs=model.inputs[0], outputs=[layer.output for layer in model.layers])
    values = probe(x, training=False)
    values = values if isinstance(values, list | tuple) else [values]
    outputs = []
    for layer, value in zip(model.layers, values, strict=True):
        value = keras.ops.convert_to_numpy(value)[0]
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        if value.ndim == 3:
            outputs.append(LayerOutput(layer.name, "conv", np.moveaxis(value, -1, 0)))
        elif layer.__class__.__name__ == "Dense":
            kind = "softmax" if activation == "softmax" else "dense"
            outputs.append(LayerOutput(layer.name, kind, value))
        else:
            outputs.append(LayerOutput(layer.name, "other", value.ravel()))
    return outputs


def load_keras_model(run: Run) -> Any:
    """The run's trained Keras model (through the Keras engine's safe loader)."""
    from mnist_lab.training import load_trained_model

    return load_trained_model(run)


def _keras_model(run: Run, model: Any) -> Any:
    """``model`` if the caller already loaded it, else the run's model from disk."""
    return model if model is not None else load_keras_model(run)


def _weighted_layers(model: Any) -> list:
    """The model's layers that hold a kernel (Dense, Conv2D), first to last."""
    return [layer for layer in model.layers if layer.__class__.__name__ in ("Dense", "Conv2D")]


def gradient_flow_table(records: list[dict]) -> pd.DataFrame:
    """The ``"gradients"`` records of ``metrics.jsonl`` as a tidy table.

    Parameters
    ----------
    records : list of dict
        A run's metrics (`Run.metrics`); other kinds are ignored.

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
        for record in records
        if record.get("kind") == "gradients"
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


def histogram_layers(records: list[dict]) -> list[str]:
    """Names of the layers that have ``"histograms"`` records, first to last."""
    for record in records:
        if record.get("kind") == "histograms":
            return [layer["name"] for layer in record.get("layers", [])]
    return []


def histogram_series(records: list[dict], layer: str, quantity: str = "weights") -> pd.DataFrame:
    """One layer's weight or activation histograms over the epochs, as a tidy table.

    Parameters
    ----------
    records : list of dict
        A run's metrics (`Run.metrics`).
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
    for record in records:
        if record.get("kind") != "histograms":
            continue
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

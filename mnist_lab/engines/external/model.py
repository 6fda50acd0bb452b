"""What the lab asks of a Keras model trained elsewhere, and how it feeds it the digits.

A model comes in from a notebook's ``fit`` or a file. It must take one 28x28 digit in one of
the layouts of `INPUT_SHAPES` and give one score per class; `describe` checks that (before
any time is spent) and records what Keras tells of it. `model_input` and `probabilities`
turn normalized digits into the model's input and its output into probabilities.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from mnist_lab.engines.external.settings import INPUT_SHAPES
from mnist_lab.engines.keras_common import MAX_PARAMS


def _one(shape: Any, what: str) -> tuple:
    """The shape of a model's only input or output (Keras gives a list for several)."""
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ValueError(f"this model has {len(shape)} {what}s; the lab needs exactly one")
        shape = shape[0]
    return tuple(shape)


def input_shape_of(model: Any) -> list[int]:
    """One digit's shape as ``model`` takes it: one of `INPUT_SHAPES`.

    Raises
    ------
    ValueError
        If the model has not been built with an input shape, or its input cannot take a
        28x28 digit.
    """
    try:
        shape = _one(model.input_shape, "input")
    except AttributeError:
        raise ValueError(
            "this model does not know its input shape yet: start it with keras.Input(shape="
            "(28, 28)) (or call model.build) so the lab can check it"
        ) from None
    taken = [int(n) if n is not None else None for n in shape[1:]]
    if taken not in INPUT_SHAPES:
        raise ValueError(
            f"this model takes inputs of shape {tuple(taken)}, which cannot hold a 28x28 digit; "
            f"the lab feeds one of {[tuple(s) for s in INPUT_SHAPES]}"
        )
    return taken


def output_kind(model: Any, n_classes: int) -> str:
    """``probabilities`` if the model ends in a softmax, else ``logits``.

    Raises
    ------
    ValueError
        If its output is not one unit per class.
    """
    shape = _one(model.output_shape, "output")
    if tuple(shape[1:]) != (n_classes,):
        raise ValueError(
            f"this model outputs shape {tuple(shape[1:])}; the lab needs one unit per class, "
            f"({n_classes},)"
        )
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = activation == "softmax" or last.__class__.__name__ == "Softmax"
    return "probabilities" if softmax else "logits"


def logits_of(kind: str):
    """``logits(model, x)`` for a model whose outputs are ``kind`` (see `output_kind`).

    Logits are the outputs themselves; a model ending in a softmax gives the input of its
    last layer (a ``Softmax`` layer) or that layer's kernel and bias without the softmax.
    """

    def logits(model: Any, x: Any) -> Any:
        if kind == "logits":
            return model(x, training=False)
        import keras

        last = model.layers[-1]
        hidden = keras.Model(model.inputs, last.input)(x, training=False)
        if last.__class__.__name__ == "Softmax":
            return hidden
        return hidden @ last.kernel + last.bias

    return logits


def count_params(model: Any) -> int:
    """The model's number of weights; `ValueError` above the lab's `MAX_PARAMS`."""
    total = int(model.count_params())
    if total > MAX_PARAMS:
        raise ValueError(
            f"this model has {total:,} parameters, more than the lab's limit of {MAX_PARAMS:,}"
        )
    return total


def summary_lines(model: Any) -> list[str]:
    """One plain line per layer: its name, kind, output shape and weights."""
    lines = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape[1:])
        except (AttributeError, ValueError):
            shape = "?"
        lines.append(
            f"{layer.name} ({layer.__class__.__name__}): output {shape}, "
            f"{layer.count_params():,} parameters"
        )
    return lines


def optimizer_fields(model: Any) -> dict:
    """The optimizer's name, its settings as JSON text and its learning rate, if compiled."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return {}
    config = optimizer.get_config()
    rate = config.get("learning_rate")
    return {
        "optimizer": optimizer.__class__.__name__.lower(),
        "optimizer_config": json.dumps(config, default=str, sort_keys=True),
        "learning_rate": float(f"{rate:.7g}") if isinstance(rate, int | float) else None,
    }


def describe(model: Any, n_classes: int) -> dict:
    """What a run records of ``model``, after checking it can read these digits.

    Parameters
    ----------
    model : keras.Model
        A built model.
    n_classes : int
        The dataset's number of classes.

    Returns
    -------
    dict
        ``input_shape``, ``outputs``, ``params``, ``summary``, and the optimizer's fields.

    Raises
    ------
    ValueError
        If its input cannot take a 28x28 digit, its output is not one unit per class, or
        it is larger than the lab's limit.
    """
    return {
        "input_shape": input_shape_of(model),
        "outputs": output_kind(model, n_classes),
        "params": count_params(model),
        "summary": summary_lines(model),
        **optimizer_fields(model),
    }


def model_input(images: np.ndarray, input_shape: list[int]) -> np.ndarray:
    """Prepared digits ``(n, 28, 28)`` (or any ``n`` x 784 values) in the model's layout."""
    images = np.asarray(images)
    return images.reshape(len(images), *input_shape)


def probabilities(outputs: np.ndarray, kind: str) -> np.ndarray:
    """Class probabilities from the model's outputs: as they are, or a softmax of logits.

    Examples
    --------
    >>> probabilities(np.array([[0.0, 0.0]]), "logits").tolist()
    [[0.5, 0.5]]
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if kind == "probabilities":
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)

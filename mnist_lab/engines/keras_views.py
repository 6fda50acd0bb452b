"""Looking inside a trained Keras model: first-layer weights, filters, templates, outputs.

Shared by the engines whose models are Keras models (the lab's own networks, models trained
outside the lab)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.engines.base import LayerOutput
from mnist_lab.inspection import filter_images, weight_images


def weighted_layers(model: Any) -> list:
    """The model's layers that hold a kernel (Dense, Conv2D), first to last."""
    return [layer for layer in model.layers if layer.__class__.__name__ in ("Dense", "Conv2D")]


def first_dense_weights(model: Any) -> np.ndarray | None:
    """The first layer's weights as 28x28 images when it is a hidden Dense layer, else None.

    A network that starts with a convolution has filters instead, and a single Dense layer
    is a linear classifier, whose weights are its `softmax_templates`.
    """
    layers = weighted_layers(model)
    if len(layers) < 2 or layers[0].__class__.__name__ != "Dense":
        return None
    return weight_images(np.asarray(layers[0].get_weights()[0]))


def first_conv_filters(model: Any) -> np.ndarray | None:
    """The first Conv2D layer's filters as ``(filters, h, w)`` images, or None if none."""
    for layer in weighted_layers(model):
        if layer.__class__.__name__ == "Conv2D":
            return filter_images(np.asarray(layer.get_weights()[0]))
    return None


def softmax_templates(model: Any) -> np.ndarray | None:
    """Softmax regression's ten weight vectors as 28x28 images; None for deeper networks."""
    layers = weighted_layers(model)
    if len(layers) == 1 and layers[0].__class__.__name__ == "Dense":
        return weight_images(np.asarray(layers[0].get_weights()[0]))
    return None


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

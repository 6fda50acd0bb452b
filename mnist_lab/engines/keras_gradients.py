"""Input gradients of a trained Keras model, by TensorFlow's automatic differentiation.

Shared by the engines whose models are Keras models: each says how its model's scores
before the softmax are computed (`lab_logits` for the lab's own networks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def lab_logits(model: Any, x: Any) -> Any:
    """The scores before the softmax: every layer in inference mode, then the output layer's
    kernel and bias without its softmax (every lab model ends in ``Dense(10, softmax)``)."""
    hidden = x
    for layer in model.layers[:-1]:
        hidden = layer(hidden, training=False)
    output = model.layers[-1]
    return hidden @ output.kernel + output.bias


def input_gradient(
    model: Any,
    x: np.ndarray,
    classes: np.ndarray,
    score: str,
    logits: Callable[[Any, Any], Any] = lab_logits,
) -> tuple[np.ndarray, np.ndarray]:
    """d score / d input of a batch, recorded on a ``tf.GradientTape``.

    Parameters
    ----------
    model : keras.Model
        A trained model.
    x : numpy.ndarray
        Normalized inputs in the model's layout, e.g. ``(n, 28, 28, 1)`` or ``(n, 784)``.
    classes : numpy.ndarray
        One class per image, shape ``(n,)``.
    score : {"logit", "log_probability"}
    logits : callable, default `lab_logits`
        ``logits(model, x)``: the model's class scores before its softmax.

    Returns
    -------
    gradient : numpy.ndarray
        float64, shape ``(n, 28, 28)``, with respect to the normalized input.
    probabilities : numpy.ndarray
        float64, shape ``(n, 10)``.
    """
    import tensorflow as tf

    inputs = tf.convert_to_tensor(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        z = logits(model, inputs)
        scores = tf.nn.log_softmax(z) if score == "log_probability" else z
        # Each image's score depends on its own pixels only, so one sum gives every gradient.
        picked = tf.reduce_sum(tf.gather(scores, classes, batch_dims=1))
    gradient = tape.gradient(picked, inputs)
    return (
        gradient.numpy().astype(np.float64).reshape(len(x), 28, 28),
        tf.nn.softmax(z).numpy().astype(np.float64),
    )

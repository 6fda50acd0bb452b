"""Input gradients of a trained Keras network, by TensorFlow's automatic differentiation."""

from __future__ import annotations

from typing import Any

import numpy as np


def logits(model: Any, x: Any) -> Any:
    """The scores before the softmax: every layer in inference mode, then the output layer's
    kernel and bias without its softmax (every lab model ends in ``Dense(10, softmax)``)."""
    hidden = x
    for layer in model.layers[:-1]:
        hidden = layer(hidden, training=False)
    output = model.layers[-1]
    return hidden @ output.kernel + output.bias


def input_gradient(
    model: Any, x: np.ndarray, classes: np.ndarray, score: str
) -> tuple[np.ndarray, np.ndarray]:
    """d score / d input of a batch, recorded on a ``tf.GradientTape``.

    Parameters
    ----------
    model : keras.Model
        A lab model (see `mnist_lab.engines.keras_net.models.build_model`).
    x : numpy.ndarray
        Normalized inputs, shape ``(n, 28, 28, 1)``.
    classes : numpy.ndarray
        One class per image, shape ``(n,)``.
    score : {"logit", "log_probability"}

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
        gradient.numpy().astype(np.float64)[..., 0],
        tf.nn.softmax(z).numpy().astype(np.float64),
    )

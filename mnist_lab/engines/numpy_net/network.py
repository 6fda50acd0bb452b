"""A 784 -> H sigmoid -> 10 softmax network written with NumPy only: the maths, by hand.

Everything Keras hides is spelled out here, so a student can follow the maths line by line.

Notation (one mini-batch of ``n`` images, rows are samples)::

    x   (n, 784)   normalized pixels
    z1 = x W1 + b1          W1 (784, h), b1 (h,)     hidden pre-activation
    a1 = sigmoid(z1)                                  hidden activation, in (0, 1)
    z2 = a1 W2 + b2         W2 (h, 10),  b2 (10,)    logits
    p  = softmax(z2)                                  class probabilities, rows sum to 1
    L  = -(1/n) sum_i log p[i, y_i]                   negative log-likelihood (cross-entropy)

The backward pass is the chain rule applied from ``L`` back to each weight; see `gradients`.
"""

from __future__ import annotations

import io

import numpy as np

from mnist_lab.data import IMAGE_SHAPE, N_CLASSES
from mnist_lab.files import DamagedRunError, atomic_write_bytes, read_arrays
from mnist_lab.runs import Run

# The network's weights: plain arrays, never pickled.
WEIGHTS_FILE = "weights.npz"

N_INPUTS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
LAYER_NAMES = ("hidden", "output")
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")


def init_weights(
    hidden_units: int, seed: int, dtype=np.float32, n_classes: int | None = None
) -> dict[str, np.ndarray]:
    """Draw the starting weights from a normal distribution, biases at zero.

    Each weight has standard deviation ``1 / sqrt(fan_in)``, so every pre-activation
    starts with variance about 1 whatever the layer width: the sigmoid sits in its
    steep middle part instead of its flat, saturated tails.

    Parameters
    ----------
    hidden_units : int
        Width of the hidden layer.
    seed : int
        Seed of the `numpy.random.Generator`; the same seed gives the same weights.
    dtype : numpy dtype, default float32
        float64 for gradient checks.
    n_classes : int, optional
        Outputs of the network: the dataset's number of classes (the ten digits if None).

    Returns
    -------
    dict
        ``W1`` (784, h), ``b1`` (h,), ``W2`` (h, n_classes), ``b2`` (n_classes,).
    """
    rng = np.random.default_rng(seed)
    n_classes = N_CLASSES if n_classes is None else n_classes
    return {
        "W1": (rng.standard_normal((N_INPUTS, hidden_units)) / np.sqrt(N_INPUTS)).astype(dtype),
        "b1": np.zeros(hidden_units, dtype=dtype),
        "W2": (rng.standard_normal((hidden_units, n_classes)) / np.sqrt(hidden_units)).astype(
            dtype
        ),
        "b2": np.zeros(n_classes, dtype=dtype),
    }


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, computed without overflow warnings."""
    # tanh form: same value, but exp(-z) never overflows for very negative z.
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax; subtracting each row's max leaves it unchanged but avoids overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(weights: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The forward pass: hidden activations and class probabilities of a batch.

    Parameters
    ----------
    weights : dict
        ``W1``, ``b1``, ``W2``, ``b2`` as made by `init_weights`.
    x : numpy.ndarray
        Normalized images, shape ``(n, 784)`` (or ``(n, 28, 28)``, flattened here).

    Returns
    -------
    a1 : numpy.ndarray
        Hidden activations, shape ``(n, h)``.
    p : numpy.ndarray
        Probabilities, shape ``(n, 10)``.
    """
    x = x.reshape(len(x), N_INPUTS)
    a1 = sigmoid(x @ weights["W1"] + weights["b1"])
    return a1, softmax(a1 @ weights["W2"] + weights["b2"])


def nll_loss(weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels, via log-softmax (exact for tiny p)."""
    x = x.reshape(len(x), N_INPUTS)
    z2 = sigmoid(x @ weights["W1"] + weights["b1"]) @ weights["W2"] + weights["b2"]
    top = z2.max(axis=1, keepdims=True)
    log_p = z2 - top - np.log(np.exp(z2 - top).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def gradients(
    weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Loss and its gradient with respect to every weight, derived by hand.

    Parameters
    ----------
    weights : dict
        ``W1``, ``b1``, ``W2``, ``b2``.
    x : numpy.ndarray
        Normalized images, shape ``(n, 784)``.
    y : numpy.ndarray
        Integer labels, shape ``(n,)``.

    Returns
    -------
    loss : float
        Mean negative log-likelihood of the batch.
    grads : dict
        ``W1``, ``b1``, ``W2``, ``b2``: dL/d(weight), same shapes as the weights.
    a1, p : numpy.ndarray
        Hidden activations and probabilities of the batch (for monitoring and accuracy).
    """
    n = len(x)
    x = x.reshape(n, N_INPUTS)
    a1, p = forward(weights, x)
    rows = np.arange(n)
    loss = float(-np.log(np.maximum(p[rows, y], np.finfo(p.dtype).tiny)).mean())

    # Output layer. With L_i = -log p[i, y_i] and p = softmax(z2), the softmax Jacobian and
    # the log cancel: dL_i/dz2[i, k] = p[i, k] - 1[k == y_i], i.e. dz2 = p - onehot(y).
    # The 1/n of the mean is applied once here, so every gradient below is already averaged.
    dz2 = p.copy()
    dz2[rows, y] -= 1.0
    dz2 /= n
    # z2 = a1 W2 + b2, so dL/dW2 = a1^T dz2 (sums over the batch) and dL/db2 = sum_i dz2[i].
    grad_w2 = a1.T @ dz2
    grad_b2 = dz2.sum(axis=0)

    # Hidden layer. The error flows back through W2: dL/da1 = dz2 W2^T. The sigmoid's
    # derivative is sigmoid(z)(1 - sigmoid(z)) = a1 (1 - a1), at most 1/4: each sigmoid layer
    # shrinks the gradient at least fourfold, which is why deep sigmoid nets learn slowly.
    dz1 = (dz2 @ weights["W2"].T) * a1 * (1.0 - a1)
    # z1 = x W1 + b1, so dL/dW1 = x^T dz1 and dL/db1 = sum_i dz1[i].
    grad_w1 = x.T @ dz1
    grad_b1 = dz1.sum(axis=0)
    return loss, {"W1": grad_w1, "b1": grad_b1, "W2": grad_w2, "b2": grad_b2}, a1, p


def input_gradient(weights: dict[str, np.ndarray], a1: np.ndarray, dz2: np.ndarray) -> np.ndarray:
    """Back-propagate d score / d logits (``dz2``, one row per image) to the normalized input.

    The same chain rule as in `gradients`, carried one step further: through ``W2``, the
    sigmoid's slope ``a1 (1 - a1)`` and ``W1``, down to each pixel instead of each weight.

    Parameters
    ----------
    weights : dict
        ``W1``, ``W2`` (biases do not depend on the input).
    a1 : numpy.ndarray
        Hidden activations of the batch, as `forward` returns them, shape ``(n, h)``.
    dz2 : numpy.ndarray
        d score / d logits, shape ``(n, 10)`` (see `mnist_lab.engines.scores.logit_seed`).

    Returns
    -------
    numpy.ndarray
        d score / d x, shape ``(n, 784)``.
    """
    dz1 = (dz2 @ weights["W2"].T) * a1 * (1.0 - a1)
    return dz1 @ weights["W1"].T


def sgd_step(weights: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """Plain stochastic gradient descent, in place: ``w <- w - lr * dL/dw``."""
    for name in PARAMETER_NAMES:
        weights[name] -= lr * grads[name]


def evaluate(weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Loss and accuracy of ``weights`` on normalized images ``x`` with labels ``y``."""
    _, p = forward(weights, x)
    picked = np.maximum(p[np.arange(len(y)), y], np.finfo(p.dtype).tiny)
    return float(-np.log(picked).mean()), float((p.argmax(axis=1) == y).mean())


def save_weights(run: Run, weights: dict[str, np.ndarray]) -> None:
    """Write ``weights.npz`` (plain float arrays ``W1``, ``b1``, ``W2``, ``b2``) atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: weights[name] for name in PARAMETER_NAMES})
    atomic_write_bytes(run.file(WEIGHTS_FILE), buffer.getvalue())


def load_weights(run: Run) -> dict[str, np.ndarray]:
    """The trained weights of a NumPy-engine run, read without unpickling.

    Raises
    ------
    FileNotFoundError
        If the run has no ``weights.npz`` yet.
    DamagedRunError
        If the file is unreadable, lacks a weight, or its weights are not a network's
        (``W1`` (784, h), ``b1`` (h,), ``W2`` (h, c), ``b2`` (c,), finite floats).
    """
    weights = read_arrays(run.file(WEIGHTS_FILE), PARAMETER_NAMES)
    w1, b1, w2, b2 = (weights[name] for name in PARAMETER_NAMES)
    fits = (
        w1.ndim == 2
        and w2.ndim == 2
        and w1.shape[0] == int(np.prod(IMAGE_SHAPE))
        and b1.shape == (w1.shape[1],)
        and w2.shape[0] == w1.shape[1]
        and b2.shape == (w2.shape[1],)
        and w2.shape[1] >= 2
    )
    if not fits:
        shapes = ", ".join(f"{name} {weights[name].shape}" for name in PARAMETER_NAMES)
        raise DamagedRunError(f"{WEIGHTS_FILE} does not hold a network's weights ({shapes})")
    if any(value.dtype.kind != "f" or not np.all(np.isfinite(value)) for value in weights.values()):
        raise DamagedRunError(f"{WEIGHTS_FILE} holds weights that are not finite numbers")
    return weights

"""A fitted kernel SVM as plain arrays, and its predictions computed with NumPy.

The model is the one-vs-one machine libsvm (scikit-learn's ``SVC``) builds: one binary SVM
per pair of classes. Its arrays are the projection (PCA mean and components), the support
vectors of every pair stacked once, each pair's dual coefficients over them, and its
intercept. ``model.npz`` holds them; nothing is pickled.

A pair's decision is ``f(z) = sum_i coef_i exp(-gamma |z - sv_i|^2) + b``, positive for the
pair's first class. libsvm's own prediction counts votes; the probabilities here are a
smooth vote: class k's score is ``sum_j log sigmoid(PAIR_SCALE * f_kj(z))``, the log of the
chance that k beats every rival, and the softmax of the scores is the prediction.
`PAIR_SCALE` = 5 was chosen on 5,000 held-out training digits (a fit on 10,000 others): its
error there matched libsvm's vote (2.20% against 2.22%) and its log loss was lowest (0.084;
0.101 at 8, 0.135 at 12).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from mnist_lab.files import DamagedRunError, atomic_write_bytes, read_arrays
from mnist_lab.runs import Run

MODEL_FILE = "model.npz"
# Margin units to log-odds of a pair's winner: large enough for the vote, small enough to rank.
PAIR_SCALE = 5.0
# Images per block of the kernel matrix: bounds its memory (block x support vectors floats).
BLOCK = 512
# A class absent from training gets this score below the lowest present one (chance ~e-30).
ABSENT_MARGIN = 70.0
ARRAYS = (
    "mean",
    "components",
    "support_vectors",
    "pair_coef",
    "pair_intercept",
    "pair_classes",
    "gamma",
    "n_classes",
)


@dataclass
class KernelSvm:
    """The arrays of a one-vs-one Gaussian-kernel SVM.

    Attributes
    ----------
    mean : numpy.ndarray
        ``(784,)``: subtracted before the projection (zeros without PCA).
    components : numpy.ndarray
        ``(d, 784)`` principal components, or ``(0, 784)`` for none (the pixels themselves).
    support_vectors : numpy.ndarray
        ``(n_sv, d)``: every pair's support vectors, each stored once.
    pair_coef : numpy.ndarray
        ``(n_sv, n_pairs)``: each pair's dual coefficients (``alpha_i y_i``), 0 where a
        support vector belongs to another pair.
    pair_intercept : numpy.ndarray
        ``(n_pairs,)``.
    pair_classes : numpy.ndarray
        ``(n_pairs, 2)`` int: the pair's classes, the first one's side positive.
    gamma : float
    n_classes : int
    """

    mean: np.ndarray
    components: np.ndarray
    support_vectors: np.ndarray
    pair_coef: np.ndarray
    pair_intercept: np.ndarray
    pair_classes: np.ndarray
    gamma: float
    n_classes: int

    def project(self, x: np.ndarray) -> np.ndarray:
        """Normalized flat digits ``(n, 784)`` -> the inputs of the kernel ``(n, d)``."""
        x = np.asarray(x, dtype=np.float64) - self.mean
        return x @ self.components.T if len(self.components) else x

    def kernel(self, z: np.ndarray) -> np.ndarray:
        """The kernel between ``z`` and every support vector: ``(n, n_sv)``."""
        return rbf_kernel(z, self.support_vectors, self.gamma)

    def class_scores(self, decisions: np.ndarray) -> np.ndarray:
        """Each class's log chance of beating every rival, from pair decisions ``(n, n_pairs)``."""
        first, second = self.pair_classes[:, 0], self.pair_classes[:, 1]
        scores = np.zeros((len(decisions), self.n_classes))
        margin = PAIR_SCALE * decisions
        # log sigmoid(m) = -log(1 + exp(-m)), computed without overflow.
        np.add.at(scores.T, first, -np.logaddexp(0.0, -margin).T)
        np.add.at(scores.T, second, -np.logaddexp(0.0, margin).T)
        absent = np.setdiff1d(np.arange(self.n_classes), self.pair_classes)
        if len(absent):
            present = np.delete(scores, absent, axis=1)
            scores[:, absent] = present.min(axis=1, keepdims=True) - ABSENT_MARGIN
        return scores

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of normalized flat digits ``(n, 784)``, in blocks of `BLOCK`."""
        out = np.empty((len(x), self.n_classes))
        for start in range(0, len(x), BLOCK):
            z = self.project(x[start : start + BLOCK])
            decisions = self.kernel(z) @ self.pair_coef + self.pair_intercept
            out[start : start + BLOCK] = softmax(self.class_scores(decisions))
        return out

    def score_gradient(self, x: np.ndarray, seed: np.ndarray) -> np.ndarray:
        """d (seed . class scores) / d x for normalized flat digits ``x`` ``(n, 784)``.

        Parameters
        ----------
        x : numpy.ndarray
            ``(n, 784)`` normalized digits.
        seed : numpy.ndarray
            ``(n, n_classes)``: the weight of each class's score (see `logit_seed`).

        Returns
        -------
        numpy.ndarray
            ``(n, 784)``.
        """
        z = self.project(x)
        kernel = self.kernel(z)
        decisions = kernel @ self.pair_coef + self.pair_intercept
        first, second = self.pair_classes[:, 0], self.pair_classes[:, 1]
        margin = PAIR_SCALE * decisions
        # d log sigmoid(m) / dm = sigmoid(-m); the second class sees -m.
        d_decisions = PAIR_SCALE * (
            seed[:, first] * _sigmoid(-margin) - seed[:, second] * _sigmoid(margin)
        )
        weighted = kernel * (d_decisions @ self.pair_coef.T)
        # d exp(-gamma |z - sv|^2) / dz = -2 gamma (z - sv) exp(...).
        sv = self.support_vectors.astype(np.float64)
        d_z = -2 * self.gamma * (z * weighted.sum(axis=1, keepdims=True) - weighted @ sv)
        return d_z @ self.components if len(self.components) else d_z


def rbf_kernel(z: np.ndarray, sv: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma |z_i - sv_j|^2)`` for every row of ``z`` and ``sv``, in float64.

    Examples
    --------
    >>> rbf_kernel(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0]]), 0.5).round(3)
    array([[1.   , 0.368]])
    """
    z, sv = np.asarray(z, dtype=np.float64), np.asarray(sv, dtype=np.float64)
    squared = (z**2).sum(axis=1)[:, None] + (sv**2).sum(axis=1)[None] - 2 * z @ sv.T
    # Rounding can leave a tiny negative distance; it is 0.
    return np.exp(-gamma * np.maximum(squared, 0.0))


def _sigmoid(m: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -m))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax; subtracting the row maximum keeps exp() from overflowing."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def save_model(run: Run, model: KernelSvm) -> None:
    """Write ``model.npz``: the arrays of `KernelSvm` (float32 where the size is)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        mean=model.mean.astype(np.float32),
        components=model.components.astype(np.float32),
        support_vectors=model.support_vectors.astype(np.float32),
        pair_coef=model.pair_coef.astype(np.float32),
        pair_intercept=model.pair_intercept.astype(np.float64),
        pair_classes=model.pair_classes.astype(np.int64),
        gamma=np.float64(model.gamma),
        n_classes=np.int64(model.n_classes),
    )
    atomic_write_bytes(run.file(MODEL_FILE), buffer.getvalue())


def load_model(run: Run) -> KernelSvm:
    """Read ``model.npz`` (never unpickling) and check its shapes agree.

    Raises
    ------
    DamagedRunError
        If the file is unreadable, lacks an array, or its arrays do not fit together.
    """
    arrays = read_arrays(run.file(MODEL_FILE), ARRAYS)
    model = KernelSvm(
        **{name: arrays[name] for name in ARRAYS[:6]},
        gamma=float(arrays["gamma"]),
        n_classes=int(arrays["n_classes"]),
    )
    n_sv, n_pairs = model.pair_coef.shape if model.pair_coef.ndim == 2 else (-1, -1)
    width = len(model.components) or model.mean.shape[-1]
    fits = (
        model.mean.ndim == 1
        and model.components.ndim == 2
        and model.components.shape[1] == len(model.mean)
        and model.support_vectors.shape == (n_sv, width)
        and model.pair_intercept.shape == (n_pairs,)
        and model.pair_classes.shape == (n_pairs, 2)
        and 2 <= model.n_classes
        and model.pair_classes.min(initial=0) >= 0
        and model.pair_classes.max(initial=0) < model.n_classes
        and np.isfinite(model.gamma)
    )
    if not fits:
        raise DamagedRunError(f"{MODEL_FILE} holds arrays of shapes that do not fit together")
    return model

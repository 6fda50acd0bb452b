"""A 784 -> 20 sigmoid -> 10 softmax network written with NumPy only, trained like any other run.

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

import csv
import io
import time
from dataclasses import asdict, dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mnist_lab.data import (
    EMBEDDED_SHA256,
    IMAGE_SHAPE,
    N_CLASSES,
    MnistDataset,
    load_mnist,
    random_subset,
    train_validation_split,
)
from mnist_lab.evaluation import write_evaluation
from mnist_lab.preprocess import (
    check_normalization,
    fit_normalizer,
    load_normalizer,
    save_normalizer,
)
from mnist_lab.runs import HISTORY_FILE, Run, RunOutcome, atomic_write_bytes

ENGINE = "numpy"
LABEL = "numpy-784-20-10"
WEIGHTS_FILE = "weights.npz"
N_INPUTS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
LAYER_NAMES = ("hidden", "output")
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")
# Logging cadence: a batch record and a gradient sample every this many steps keeps
# metrics.jsonl small (a few thousand lines for a full run) without hiding the curve.
LOG_EVERY_STEPS = 50
# Status (and the stop request) are looked at this often; writing status.json costs an fsync.
REPORT_EVERY_S = 0.5
HISTOGRAM_BINS = 30
# Images of the validation split whose hidden activations are histogrammed each epoch.
HISTOGRAM_SAMPLES = 1000
# Size of the fixed probe batch on which gradient norms are measured (as in the Keras engine).
PROBE_SIZE = 128


@dataclass
class ScratchConfig:
    """Settings of one NumPy-engine run.

    Attributes
    ----------
    epochs : int
        Passes over the training split, 1-100.
    learning_rate : float
        SGD step size, in (0, 10].
    batch_size : int
        Images per gradient step, 1-4096.
    hidden_units : int
        Width of the sigmoid hidden layer, 1-512 (20 is the classic exercise).
    normalization : str
        One of `mnist_lab.preprocess.NORMALIZATIONS`.
    seed : int
        Seeds the weight initialization, the subset, the split and the shuffling (>= 0).
    subset : int or None
        Train on this many randomly chosen training images (100-60000); all when None.
    val_split : float
        Share of the (subset of the) training images held out for validation, in [0, 0.5].
    """

    epochs: int = 5
    learning_rate: float = 0.5
    batch_size: int = 32
    hidden_units: int = 20
    normalization: str = "scale"
    seed: int = 0
    subset: int | None = None
    val_split: float = 0.1

    def validate(self) -> ScratchConfig:
        """Return ``self`` if every setting is in range, else raise ``ValueError`` naming it."""
        checks = [
            (1 <= self.epochs <= 100, f"epochs must be 1-100, got {self.epochs}"),
            (
                0 < self.learning_rate <= 10,
                f"learning_rate must be in (0, 10], got {self.learning_rate}",
            ),
            (1 <= self.batch_size <= 4096, f"batch_size must be 1-4096, got {self.batch_size}"),
            (
                1 <= self.hidden_units <= 512,
                f"hidden_units must be 1-512, got {self.hidden_units}",
            ),
            (self.seed >= 0, f"seed must be >= 0, got {self.seed}"),
            (
                self.subset is None or 100 <= self.subset <= 60000,
                f"subset must be None (all images) or 100-60000, got {self.subset}",
            ),
            (0 <= self.val_split <= 0.5, f"val_split must be in [0, 0.5], got {self.val_split}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        check_normalization(self.normalization)
        return self

    def to_dict(self) -> dict:
        """The run's ``config.json``: these settings plus engine, label, dataset and versions."""
        label = LABEL if self.hidden_units == 20 else f"numpy-784-{self.hidden_units}-10"
        return {
            "engine": ENGINE,
            "label": label,
            **asdict(self.validate()),
            "dataset": {"name": "MNIST", "sha256": EMBEDDED_SHA256},
            "versions": {"numpy": np.__version__},
        }

    @classmethod
    def from_dict(cls, config: dict) -> ScratchConfig:
        """Read the settings back from a run's config, ignoring keys that are not settings."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{key: value for key, value in config.items() if key in names}).validate()


def init_weights(hidden_units: int, seed: int, dtype=np.float32) -> dict[str, np.ndarray]:
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

    Returns
    -------
    dict
        ``W1`` (784, h), ``b1`` (h,), ``W2`` (h, 10), ``b2`` (10,).
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": (rng.standard_normal((N_INPUTS, hidden_units)) / np.sqrt(N_INPUTS)).astype(dtype),
        "b1": np.zeros(hidden_units, dtype=dtype),
        "W2": (rng.standard_normal((hidden_units, N_CLASSES)) / np.sqrt(hidden_units)).astype(
            dtype
        ),
        "b2": np.zeros(N_CLASSES, dtype=dtype),
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


def sgd_step(weights: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """Plain stochastic gradient descent, in place: ``w <- w - lr * dL/dw``."""
    for name in PARAMETER_NAMES:
        weights[name] -= lr * grads[name]


def gradient_record(
    epoch: int, step: int, weights: dict[str, np.ndarray], x_probe: np.ndarray, y_probe: np.ndarray
) -> dict:
    """A ``"gradients"`` metrics record: per-layer gradient norm, RMS and mean |activation|.

    Measured on a fixed probe batch, as the Keras engine does, so that the curve shows how
    the network changes rather than which 32 images a step happened to draw. A layer's norm
    covers its kernel and bias together, as one vector.
    """
    _, grads, a1, p = gradients(weights, x_probe, y_probe)
    layers = []
    for name, (w, b), act in zip(LAYER_NAMES, (("W1", "b1"), ("W2", "b2")), (a1, p), strict=True):
        norm = np.sqrt(np.sum(grads[w] ** 2) + np.sum(grads[b] ** 2))
        layers.append(
            {
                "name": name,
                "grad_norm": float(norm),
                "grad_rms": float(norm / np.sqrt(grads[w].size + grads[b].size)),
                "activation_mean_abs": float(np.abs(act).mean()),
            }
        )
    return {"kind": "gradients", "epoch": epoch, "step": step, "layers": layers}


def histogram_record(epoch: int, weights: dict[str, np.ndarray], x_sample: np.ndarray) -> dict:
    """A ``"histograms"`` metrics record: weight and activation histograms of both layers."""
    a1, p = forward(weights, x_sample)
    layers = []
    for name, w, act in zip(LAYER_NAMES, (weights["W1"], weights["W2"]), (a1, p), strict=True):
        entry = {"name": name}
        for key, values in (("weights", w), ("activations", act)):
            # Only finite values: a diverging run must still be able to log what it saw.
            counts, edges = np.histogram(values[np.isfinite(values)], bins=HISTOGRAM_BINS)
            entry[key] = {"counts": counts.tolist(), "edges": edges.round(6).tolist()}
        layers.append(entry)
    return {"kind": "histograms", "epoch": epoch, "layers": layers}


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
    """
    with np.load(run.file(WEIGHTS_FILE), allow_pickle=False) as archive:
        return {name: archive[name] for name in PARAMETER_NAMES}


def predict_proba_scratch(run: Run, x_uint8: np.ndarray) -> np.ndarray:
    """Class probabilities of a trained NumPy-engine run for raw uint8 images.

    Parameters
    ----------
    run : Run
        A finished (or stopped) NumPy-engine run.
    x_uint8 : numpy.ndarray
        Images of shape ``(n, 28, 28)`` or one ``(28, 28)`` image, values 0-255.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 10)``, float32.
    """
    x = np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE)
    return forward(load_weights(run), load_normalizer(run).transform(x))[1]


def write_history(run: Run, rows: list[dict]) -> None:
    """Write ``history.csv`` like Keras' CSVLogger: ``epoch`` (from 0) then sorted columns."""
    buffer = io.StringIO()
    columns = ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "epoch": row["epoch"] - 1} for row in rows)
    atomic_write_bytes(run.file(HISTORY_FILE), buffer.getvalue().encode())


def train_run(run: Run) -> RunOutcome:
    """Train the NumPy network of ``run``'s config; the worker's entry point for ``"numpy"``.

    Writes batch, epoch, gradient and histogram records to ``metrics.jsonl``, progress to
    ``status.json``, then ``weights.npz``, ``normalizer.json``, ``history.csv`` and the
    test-set evaluation. A stop request ends training after the current batch (the weights
    so far are kept and evaluated); a NaN loss ends it as ``diverged``.

    Parameters
    ----------
    run : Run
        A run created with ``ScratchConfig(...).to_dict()`` as its config.

    Returns
    -------
    RunOutcome
    """
    # The matrices are tiny: handing them to several BLAS threads costs more than it saves,
    # and on a busy machine (students share one) up to 100x more. One thread, always.
    with threadpool_limits(limits=1, user_api="blas"):
        return _train(run, ScratchConfig.from_dict(run.config()))


def _train(run: Run, config: ScratchConfig) -> RunOutcome:
    """The body of `train_run`."""
    dataset = load_mnist()
    x_train, y_train, x_val, y_val, normalizer = _prepare_data(config, dataset)
    save_normalizer(run, normalizer)
    x_held, y_held = (x_val, y_val) if len(x_val) else (x_train, y_train)
    sample, probe = x_held[:HISTOGRAM_SAMPLES], (x_held[:PROBE_SIZE], y_held[:PROBE_SIZE])
    weights = init_weights(config.hidden_units, config.seed)
    run.append_metrics(histogram_record(0, weights, sample))
    progress = _Progress(run, config, steps_per_epoch=-(-len(x_train) // config.batch_size))
    rng = np.random.default_rng(config.seed + 1)
    history, outcome = [], None
    for epoch in range(1, config.epochs + 1):
        outcome, loss, accuracy = _train_epoch(
            run, config, weights, (x_train, y_train), probe, rng, epoch, progress
        )
        if outcome is not None and outcome.state == "diverged":
            return outcome
        val_loss, val_accuracy = evaluate(weights, x_val, y_val) if len(x_val) else (None, None)
        row = {
            "kind": "epoch",
            "epoch": epoch,
            "step": progress.step,
            "loss": loss,
            "accuracy": accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": config.learning_rate,
            "samples_per_s": progress.samples_per_s(),
        }
        run.append_metrics(row)
        run.append_metrics(histogram_record(epoch, weights, sample))
        history.append(row)
        if outcome is not None:
            break
    progress.report(epoch)
    save_weights(run, weights)
    write_history(run, history)
    evaluation = write_evaluation(
        run, dataset.y_test, forward(weights, normalizer.transform(dataset.x_test))[1]
    )
    return outcome or RunOutcome(
        "finished",
        f"Trained {config.epochs} epochs: test accuracy {evaluation['test_accuracy']:.2%}.",
    )


def _prepare_data(config: ScratchConfig, dataset: MnistDataset) -> tuple:
    """Subset, split and normalize the training images as ``(n, 784)`` float32 rows."""
    x_all, y_all = random_subset(dataset.x_train, dataset.y_train, config.subset, config.seed)
    x_train, y_train, x_val, y_val = train_validation_split(
        x_all, y_all, config.val_split, seed=config.seed
    )
    normalizer = fit_normalizer(config.normalization, x_train)

    def flat(x: np.ndarray) -> np.ndarray:
        return normalizer.transform(x).reshape(len(x), N_INPUTS)

    return (
        flat(x_train),
        y_train.astype(np.int64),
        flat(x_val),
        y_val.astype(np.int64),
        normalizer,
    )


def _train_epoch(
    run: Run,
    config: ScratchConfig,
    weights: dict[str, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    probe: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    epoch: int,
    progress: _Progress,
) -> tuple[RunOutcome | None, float, float]:
    """One shuffled pass of mini-batch SGD; returns (early outcome or None, mean loss, accuracy)."""
    x_train, y_train = train
    order = rng.permutation(len(x_train))
    seen, loss_sum, correct = 0, 0.0, 0
    for start in range(0, len(x_train), config.batch_size):
        batch = order[start : start + config.batch_size]
        xb, yb = x_train[batch], y_train[batch]
        loss, grads, _, p = gradients(weights, xb, yb)
        if not np.isfinite(loss):
            return (
                RunOutcome(
                    "diverged",
                    f"The loss became {loss} at epoch {epoch}, step {progress.step + 1}: the "
                    f"learning rate {config.learning_rate} is too large for these inputs. Try a "
                    "smaller one, or normalized pixels.",
                ),
                loss,
                0.0,
            )
        sgd_step(weights, grads, config.learning_rate)
        progress.step += 1
        seen += len(batch)
        loss_sum += loss * len(batch)
        # Accuracy of the batch as it was predicted before this step, like Keras' running mean.
        hits = int((p.argmax(axis=1) == yb).sum())
        correct += hits
        if progress.step % LOG_EVERY_STEPS == 0 or progress.step == 1:
            run.append_metrics(
                {
                    "kind": "batch",
                    "epoch": epoch,
                    "step": progress.step,
                    "loss": loss,
                    "accuracy": hits / len(batch),
                    "lr": config.learning_rate,
                }
            )
            run.append_metrics(gradient_record(epoch, progress.step, weights, *probe))
        if progress.due():
            progress.report(epoch)
            if run.stop_requested():
                message = (
                    f"Stopped at epoch {epoch}, step {progress.step}; the weights so far are "
                    "saved and evaluated."
                )
                return RunOutcome("stopped", message), loss_sum / seen, correct / seen
    return None, loss_sum / seen, correct / seen


class _Progress:
    """Counts steps and writes progress, ETA and throughput to ``status.json`` now and then."""

    def __init__(self, run: Run, config: ScratchConfig, steps_per_epoch: int):
        self.run, self.config = run, config
        self.total_steps = steps_per_epoch * config.epochs
        self.step = 0
        self.started = self.last_report = time.perf_counter()

    def due(self) -> bool:
        """Whether `REPORT_EVERY_S` has passed since the last report."""
        return time.perf_counter() - self.last_report >= REPORT_EVERY_S

    def samples_per_s(self) -> float:
        """Training throughput so far."""
        elapsed = time.perf_counter() - self.started
        return self.step * self.config.batch_size / elapsed if elapsed > 0 else 0.0

    def report(self, epoch: int) -> None:
        """Write the current progress into the run's status."""
        self.last_report = time.perf_counter()
        rate = self.samples_per_s() / self.config.batch_size
        remaining = self.total_steps - self.step
        self.run.update_status(
            epoch=epoch,
            epochs=self.config.epochs,
            step=self.step,
            progress=round(self.step / self.total_steps, 4),
            eta_s=round(remaining / rate, 1) if rate else None,
            samples_per_s=round(rate * self.config.batch_size),
        )

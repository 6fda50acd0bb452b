"""Training the NumPy network as a run: mini-batch SGD with records, progress and Stop."""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from mnist_lab import records
from mnist_lab.data import MnistDataset, random_subset, train_validation_split
from mnist_lab.datasets import dataset_of
from mnist_lab.engines.numpy_net.network import (
    LAYER_NAMES,
    N_INPUTS,
    evaluate,
    forward,
    gradients,
    init_weights,
    save_weights,
    sgd_step,
)
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import write_evaluation
from mnist_lab.preprocess import fit_normalizer, save_normalizer
from mnist_lab.runs import HISTORY_FILE, Run, RunOutcome, atomic_write_bytes

# Logging cadence: a batch record and a gradient sample every this many steps keeps
# metrics.jsonl small (a few thousand lines for a full run) without hiding the curve.
LOG_EVERY_STEPS = 50
# Status (and the stop request) are looked at this often; writing status.json costs an fsync.
REPORT_EVERY_S = 0.5
# Images of the validation split whose hidden activations are histogrammed each epoch.
HISTOGRAM_SAMPLES = 1000
# Size of the fixed probe batch on which gradient norms are measured (as in the Keras engine).
PROBE_SIZE = 128


def gradient_record(
    epoch: int, step: int, weights: dict[str, np.ndarray], x_probe: np.ndarray, y_probe: np.ndarray
) -> dict:
    """A ``gradients`` record: per-layer gradient size and mean |activation| on a probe batch.

    Measured on a fixed probe batch, as the Keras engine does, so that the curve shows how
    the network changes rather than which 32 images a step happened to draw. A layer's norm
    covers its kernel and bias together, as one vector.
    """
    _, grads, a1, p = gradients(weights, x_probe, y_probe)
    layers = []
    for name, (w, b), act in zip(LAYER_NAMES, (("W1", "b1"), ("W2", "b2")), (a1, p), strict=True):
        norm = np.sqrt(np.sum(grads[w] ** 2) + np.sum(grads[b] ** 2))
        count = grads[w].size + grads[b].size
        layers.append(records.layer_gradient(name, norm, count, np.abs(act).mean()))
    return records.gradients_record(epoch=epoch, step=step, layers=layers)


def histogram_record(epoch: int, weights: dict[str, np.ndarray], x_sample: np.ndarray) -> dict:
    """A ``histograms`` record: weight and activation histograms of both layers."""
    a1, p = forward(weights, x_sample)
    layers = [
        records.layer_histograms(name, w, act)
        for name, w, act in zip(LAYER_NAMES, (weights["W1"], weights["W2"]), (a1, p), strict=True)
    ]
    return records.histograms_record(epoch=epoch, layers=layers)


def train_run(run: Run) -> RunOutcome:
    """Train the NumPy network of ``run``'s config; the worker's entry point for ``"numpy"``.

    Writes batch, epoch, gradient and histogram records to ``metrics.jsonl``, progress to
    ``status.json``, then ``weights.npz``, ``normalizer.json``, ``history.csv`` and the
    test-set evaluation. A stop request ends training after the current batch (the weights
    so far are kept and evaluated); a NaN loss ends it as ``diverged``.

    Parameters
    ----------
    run : Run
        A run created with ``NumpyNetSettings(...).to_dict()`` as its config.

    Returns
    -------
    RunOutcome
    """
    # The matrices are tiny: handing them to several BLAS threads costs more than it saves,
    # and on a busy machine (students share one) up to 100x more. One thread, always.
    with threadpool_limits(limits=1, user_api="blas"):
        return _train(run, NumpyNetSettings.from_dict(run.config()))


def _train(run: Run, config: NumpyNetSettings) -> RunOutcome:
    """The body of `train_run`."""
    dataset = dataset_of(run)
    x_train, y_train, x_val, y_val, normalizer = _prepare_data(config, dataset)
    save_normalizer(run, normalizer)
    x_held, y_held = (x_val, y_val) if len(x_val) else (x_train, y_train)
    sample, probe = x_held[:HISTOGRAM_SAMPLES], (x_held[:PROBE_SIZE], y_held[:PROBE_SIZE])
    weights = init_weights(config.hidden_units, config.seed, n_classes=dataset.n_classes)
    run.append_metrics(histogram_record(0, weights, sample))
    steps_per_epoch = -(-len(x_train) // config.batch_size)
    progress = _Progress(run, config, steps_per_epoch=steps_per_epoch)
    rng = np.random.default_rng(config.seed + 1)
    history, outcome = [], None
    for epoch in range(1, config.epochs + 1):
        outcome, loss, accuracy = _train_epoch(
            run, config, weights, (x_train, y_train), probe, rng, epoch, progress
        )
        if outcome is not None and outcome.state == "diverged":
            return outcome
        val_loss, val_accuracy = evaluate(weights, x_val, y_val) if len(x_val) else (None, None)
        row = records.epoch_record(
            epoch=epoch,
            step=progress.step,
            fraction=(progress.step - (epoch - 1) * steps_per_epoch) / steps_per_epoch,
            loss=loss,
            accuracy=accuracy,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            lr=config.learning_rate,
            samples_per_s=progress.samples_per_s(),
            elapsed_s=progress.elapsed_s(),
        )
        run.append_metrics(row)
        run.append_metrics(histogram_record(epoch, weights, sample))
        history.append(row)
        if outcome is not None:
            break
    progress.report(epoch)
    save_weights(run, weights)
    atomic_write_bytes(run.file(HISTORY_FILE), records.history_csv(history).encode())
    evaluation = write_evaluation(
        run,
        dataset.y_test,
        forward(weights, normalizer.transform(dataset.x_test))[1],
        class_names=dataset.class_names,
    )
    return outcome or RunOutcome(
        "finished",
        f"Trained {config.epochs} epochs: test accuracy {evaluation['test_accuracy']:.2%}.",
    )


def _prepare_data(config: NumpyNetSettings, dataset: MnistDataset) -> tuple:
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
    config: NumpyNetSettings,
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
    # Sums over the steps since the last batch record: each record is that window's mean.
    window_steps, window_seen, window_loss, window_correct = 0, 0, 0.0, 0
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
        window_steps, window_seen = window_steps + 1, window_seen + len(batch)
        window_loss, window_correct = window_loss + loss * len(batch), window_correct + hits
        if progress.step % LOG_EVERY_STEPS == 0 or progress.step == 1:
            run.append_metrics(
                records.batch_record(
                    epoch=epoch,
                    step=progress.step,
                    window_steps=window_steps,
                    loss=window_loss / window_seen,
                    accuracy=window_correct / window_seen,
                    lr=config.learning_rate,
                    samples_per_s=progress.samples_per_s(),
                )
            )
            window_steps, window_seen, window_loss, window_correct = 0, 0, 0.0, 0
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

    def __init__(self, run: Run, config: NumpyNetSettings, steps_per_epoch: int):
        self.run, self.config = run, config
        self.total_steps = steps_per_epoch * config.epochs
        self.step = 0
        self.started = self.last_report = time.perf_counter()

    def due(self) -> bool:
        """Whether `REPORT_EVERY_S` has passed since the last report."""
        return time.perf_counter() - self.last_report >= REPORT_EVERY_S

    def elapsed_s(self) -> float:
        """Seconds since training began."""
        return time.perf_counter() - self.started

    def samples_per_s(self) -> float:
        """Training throughput so far."""
        elapsed = self.elapsed_s()
        return self.step * self.config.batch_size / elapsed if elapsed > 0 else 0.0

    def report(self, epoch: int) -> None:
        """Write the current progress into the run's status."""
        self.last_report = time.perf_counter()
        self.run.update_status(
            epoch=epoch,
            epochs=self.config.epochs,
            step=self.step,
            **records.progress_fields(
                done=self.step,
                total=self.total_steps,
                elapsed_s=self.elapsed_s(),
                samples_per_s=round(self.samples_per_s()),
                position=f"epoch {epoch}/{self.config.epochs}",
            ),
        )

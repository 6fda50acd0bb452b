"""Training the NumPy network as a run: mini-batch SGD, reported by `TrainingReporter`."""

from __future__ import annotations

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
from mnist_lab.evaluation import evaluated_words, write_timed_evaluation
from mnist_lab.files import atomic_write_bytes
from mnist_lab.preprocess import fit_normalizer, save_normalizer
from mnist_lab.records import HISTORY_FILE
from mnist_lab.reporter import TrainingReporter, learning_rate_remedy
from mnist_lab.runs import Run, RunOutcome

# Logging cadence: a report (a batch record, a gradient sample, the stop request and
# divergence looked at) every this many steps, and at each epoch's end, keeps
# metrics.jsonl small (a few thousand lines for a full run) without hiding the curve.
LOG_EVERY_STEPS = 50
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
    test-set evaluation. A stop request ends training at the next report (the weights so
    far are kept and evaluated); a NaN or exploding loss ends it as ``diverged``.

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
    reporter = TrainingReporter(
        run, learning_rate_remedy(config.normalization != "raw"), batch_size=config.batch_size
    )
    reporter.begin(config.epochs, steps_per_epoch=-(-len(x_train) // config.batch_size))
    rng = np.random.default_rng(config.seed + 1)
    history = []
    for epoch in range(1, config.epochs + 1):
        reporter.begin_epoch(epoch)
        loss, accuracy = _train_epoch(config, weights, (x_train, y_train), probe, rng, reporter)
        # A diverged network's validation scores say nothing: NaN weights.
        validated = len(x_val) and reporter.divergence is None
        val_loss, val_accuracy = evaluate(weights, x_val, y_val) if validated else (None, None)
        history.append(
            reporter.end_epoch(loss, accuracy, val_loss, val_accuracy, config.learning_rate)
        )
        run.append_metrics(histogram_record(epoch, weights, sample))
        if reporter.should_end:
            break
    if reporter.divergence is not None:
        return RunOutcome("diverged", reporter.divergence)
    save_weights(run, weights)
    atomic_write_bytes(run.file(HISTORY_FILE), records.history_csv(history).encode())
    evaluation = write_timed_evaluation(
        run,
        dataset.y_test,
        lambda: forward(weights, normalizer.transform(dataset.x_test))[1],
        class_names=dataset.class_names,
    )
    if reporter.stopped_at is not None:
        return RunOutcome(
            "stopped",
            f"Stopped at {reporter.stopped_at}; the weights so far are saved and evaluated.",
        )
    return RunOutcome(
        "finished",
        f"Trained {config.epochs} epochs; {evaluated_words(evaluation)}.",
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
    config: NumpyNetSettings,
    weights: dict[str, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    probe: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    reporter: TrainingReporter,
) -> tuple[float, float]:
    """One shuffled pass of mini-batch SGD, reported to ``reporter``.

    Returns the mean training loss and accuracy of the steps trained: the pass ends early
    when the reporter says so (a stop request, a diverging loss).
    """
    x_train, y_train = train
    order = rng.permutation(len(x_train))
    steps = reporter.steps_per_epoch
    first_step = (reporter.epoch - 1) * steps
    seen, loss_sum, correct = 0, 0.0, 0
    for step, start in enumerate(range(0, len(x_train), config.batch_size), start=1):
        batch = order[start : start + config.batch_size]
        xb, yb = x_train[batch], y_train[batch]
        loss, grads, _, p = gradients(weights, xb, yb)
        sgd_step(weights, grads, config.learning_rate)
        seen += len(batch)
        loss_sum += loss * len(batch)
        # Accuracy of the batch as it was predicted before this step, like Keras' running mean.
        correct += int((p.argmax(axis=1) == yb).sum())
        done = first_step + step
        if done % LOG_EVERY_STEPS == 0 or done == 1 or step == steps:
            ended = reporter.batch_end(step, loss_sum / seen, correct / seen, config.learning_rate)
            reporter.run.append_metrics(gradient_record(reporter.epoch, done, weights, *probe))
            if ended:
                break
    return loss_sum / seen, correct / seen

"""Keras callbacks that turn a ``model.fit`` into a run directory the pages can watch.

Each is one small class in the style of Keras's own ``CSVLogger``: ``__init__`` stores its
arguments, per-run state is reset in ``on_train_begin``. With ``steps_per_execution`` the
batch hooks fire once every few steps; every callback here is written for that.

Progress, throughput, the stop request and divergence are the framework-free
`mnist_lab.reporter`'s: `ReportToRun` only forwards the hooks to it. Records appended to
``metrics.jsonl`` are built by `mnist_lab.records`.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from mnist_lab import records
from mnist_lab.engines.keras_common import save_model_atomically
from mnist_lab.engines.keras_report import current_lr
from mnist_lab.files import atomic_write_bytes
from mnist_lab.reporter import loss_is_diverging
from mnist_lab.runs import Run


class LayerStatsLogger(keras.callbacks.Callback):
    """Record per-layer gradient norms (every few steps) and weight/activation histograms.

    Everything is computed on one small fixed probe batch, in inference mode (no dropout,
    batch-norm statistics untouched), by a separate ``tf.function``: the training step
    itself is never slowed down.

    Parameters
    ----------
    run : Run
        Receives ``gradients`` and ``histograms`` records.
    probe_x, probe_y : numpy.ndarray
        The probe batch: normalized images ``(n, 28, 28, 1)`` and their labels.
    gradient_every : int or None
        Record gradients at the first step and then every this many steps; None: never.
    """

    def __init__(
        self, run: Run, probe_x: np.ndarray, probe_y: np.ndarray, gradient_every: int | None
    ):
        super().__init__()
        self.run = run
        self.probe_x = probe_x
        self.probe_y = probe_y
        self.gradient_every = gradient_every

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.steps = self.params["steps"]
        self.epoch = 1
        self.last_recorded = None
        self.layers = [layer for layer in self.model.layers if layer.trainable_weights]
        outputs = [layer.output for layer in self.layers]
        probe_model = keras.Model(self.model.inputs, outputs)
        x, y = tf.constant(self.probe_x), tf.constant(self.probe_y)

        weights = [layer.trainable_weights for layer in self.layers]
        self.weight_counts = np.array(
            [sum(int(np.prod(w.shape)) for w in layer_weights) for layer_weights in weights]
        )

        # One traced function serves both hooks; autograph is off because nothing branches.
        @tf.function(autograph=False)
        def probe():
            with tf.GradientTape() as tape:
                activations = probe_model(x, training=False)
                # A model with one output returns a tensor, not a one-element list.
                if not isinstance(activations, list | tuple):
                    activations = [activations]
                loss = keras.ops.mean(
                    keras.losses.sparse_categorical_crossentropy(y, activations[-1])
                )
            grads = tape.gradient(loss, weights)
            norms = [
                tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in layer_grads]))
                for layer_grads in grads
            ]
            means = [tf.reduce_mean(tf.abs(a)) for a in activations]
            return tf.stack(norms), tf.stack(means), list(activations)

        self.probe = probe

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.gradient_every is None:
            return
        step = (self.epoch - 1) * self.steps + min(batch, self.steps - 1) + 1
        if self.last_recorded is not None and step - self.last_recorded < self.gradient_every:
            return
        self.last_recorded = step
        norms, means, _ = self.probe()
        layers = [
            records.layer_gradient(layer.name, norm, count, mean)
            for layer, norm, count, mean in zip(
                self.layers, norms.numpy(), self.weight_counts, means.numpy(), strict=True
            )
        ]
        self.run.append_metrics(
            records.gradients_record(epoch=self.epoch, step=step, layers=layers)
        )

    def on_epoch_end(self, epoch, logs=None):
        _, _, activations = self.probe()
        # The first weight is the kernel (Dense, Conv2D) or gamma (BatchNormalization).
        layers = [
            records.layer_histograms(
                layer.name, layer.trainable_weights[0].numpy(), activation.numpy()
            )
            for layer, activation in zip(self.layers, activations, strict=True)
        ]
        self.run.append_metrics(records.histograms_record(epoch=epoch + 1, layers=layers))


class HistoryWriter(keras.callbacks.Callback):
    """Rewrite ``history.csv`` atomically after every epoch, in Keras ``CSVLogger`` format.

    Columns are ``epoch`` (0-based, as ``CSVLogger`` writes it) then the sorted log keys.
    """

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)

    def on_train_begin(self, logs=None):
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.rows.append({"epoch": epoch + 1, **{key: float(logs[key]) for key in logs}})
        atomic_write_bytes(self.path, records.history_csv(self.rows).encode())


class TensorBoardScalars(keras.callbacks.Callback):
    """Write per-epoch scalars and weight histograms as TensorBoard event files.

    They are laid out as Keras's ``TensorBoard(histogram_freq=1)`` lays them out, so
    ``tensorboard --logdir runs`` shows ``epoch_loss``, ``epoch_accuracy`` and
    ``epoch_learning_rate`` under ``train``, the same losses and accuracies under
    ``validation``, and a histogram of every weight under ``train``
    (``mnist_lab_model/dense_1/kernel/histogram``). Keras's callback traces TensorFlow's
    histogram op on first use (a second per run) and calls the summary API at every batch
    hook; TensorBoard's NumPy summaries (``scalar_pb``, ``histogram_pb``) cost milliseconds.
    """

    def __init__(self, log_dir: str | Path):
        super().__init__()
        self.log_dir = Path(log_dir)

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writers = {
            split: tf.summary.create_file_writer(str(self.log_dir / split))
            for split in ("train", "validation")
        }

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from tensorboard.plugins.histogram.summary_v2 import histogram_pb
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb

        summaries = {split: [] for split in self.writers}
        for key, value in dict(logs or {}, learning_rate=current_lr(self.model)).items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            summaries[split].append(scalar_pb(f"epoch_{name}", float(value)))
        for weight in self.model.weights:
            values = np.asarray(weight.numpy())
            # A diverged run's NaN weights have no buckets: histogram the finite ones.
            histogram = histogram_pb(f"{weight.path}/histogram", values[np.isfinite(values)])
            summaries["train"].append(histogram)
        for split, writer in self.writers.items():
            with writer.as_default():
                for summary in summaries[split]:
                    tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=epoch)
            # Every epoch, so TensorBoard shows a run while it trains.
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()


class EpochCheckpoint(keras.callbacks.Callback):
    """Save the model atomically at every epoch end, unless its loss is diverging."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not loss_is_diverging(float(logs.get("loss", math.nan))):
            save_model_atomically(self.model, self.path)

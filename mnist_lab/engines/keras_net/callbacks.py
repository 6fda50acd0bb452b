"""Keras callbacks that turn a ``model.fit`` into a run directory the pages can watch.

Each is one small class in the style of Keras's own ``CSVLogger``: ``__init__`` stores its
arguments, per-run state is reset in ``on_train_begin``. With ``steps_per_execution`` the
batch hooks fire once every few steps; every callback here is written for that.

Records appended to ``metrics.jsonl`` are built by `mnist_lab.records`.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from mnist_lab import records
from mnist_lab.evaluation import CHANCE_LOSS
from mnist_lab.runs import Run, atomic_write_bytes

# A running mean above 10 nats (chance is 2.3) means confidently wrong: the weights blew up.
EXPLODING_LOSS = 10.0


def loss_is_diverging(loss: float) -> bool:
    """Whether a loss is NaN, infinite or above `EXPLODING_LOSS`.

    Examples
    --------
    >>> loss_is_diverging(float("nan")), loss_is_diverging(0.3)
    (True, False)
    """
    return not math.isfinite(loss) or loss > EXPLODING_LOSS


def current_lr(model) -> float:
    """The optimizer's learning rate now (after any schedule), as a float."""
    learning_rate = model.optimizer.learning_rate
    # .numpy() avoids NumPy 2's copy-keyword deprecation that np.array(variable) triggers.
    return float(learning_rate.numpy() if hasattr(learning_rate, "numpy") else learning_rate)


def format_duration(seconds: float) -> str:
    """Seconds as ``"45s"``, ``"3m05s"`` or ``"1h02m"`` for progress messages.

    Examples
    --------
    >>> format_duration(185.2), format_duration(3725)
    ('3m05s', '1h02m')
    """
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def save_model_atomically(model, path: str | Path) -> None:
    """Save ``model`` as a ``.keras`` file under a temporary name, then rename it to ``path``.

    A crash while saving leaves the previous file intact.
    """
    path = Path(path)
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    temp_path = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(temp_path)
        os.replace(temp_path, path)
    except BaseException:
        # A half-written model on a full disk would keep it full: no status could be saved.
        temp_path.unlink(missing_ok=True)
        raise


class RunLogger(keras.callbacks.Callback):
    """Append batch and epoch records to ``metrics.jsonl`` and keep ``status.json`` current.

    Parameters
    ----------
    run : Run
        The run directory being trained.
    batch_size : int
        Samples per step, to report throughput.
    status_every_s : float, default 0.5
        Least time between two progress writes of ``status.json`` (epoch ends always write).
    """

    def __init__(self, run: Run, batch_size: int, status_every_s: float = 0.5):
        super().__init__()
        self.run = run
        self.batch_size = batch_size
        self.status_every_s = status_every_s

    def on_train_begin(self, logs=None):
        self.epochs = self.params["epochs"]
        self.steps = self.params["steps"]
        self.train_start = time.time()
        self.last_status_time = -math.inf
        self.epoch = 1
        self.throughput = records.Throughput()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.epoch_start = self.epoch_end_time = time.time()
        self.epoch_step = self.last_step = 0
        # Keras's loss and accuracy at the previous batch record: running means since epoch start.
        self.last_means = {"loss": 0.0, "accuracy": 0.0}
        self.throughput.resume(self.epoch_start, epoch * self.steps * self.batch_size)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        now = time.time()
        # The last execution of an epoch may report a step past its end.
        self.epoch_step = min(batch, self.steps - 1) + 1
        self.epoch_end_time = now
        step = (self.epoch - 1) * self.steps + self.epoch_step
        samples_per_s = self.throughput.add(now, step * self.batch_size) or 0.0
        # Per-window means from two running means (the epoch's last, smaller batch counts full).
        means = {key: float(logs.get(key, math.nan)) for key in self.last_means}
        window = {
            key: records.window_mean(
                means[key],
                self.epoch_step * self.batch_size,
                self.last_means[key],
                self.last_step * self.batch_size,
            )
            for key in means
        }
        window_steps = self.epoch_step - self.last_step
        self.last_step, self.last_means = self.epoch_step, means
        self.run.append_metrics(
            records.batch_record(
                epoch=self.epoch,
                step=step,
                window_steps=window_steps,
                loss=window["loss"],
                accuracy=window["accuracy"],
                lr=current_lr(self.model),
                samples_per_s=samples_per_s,
                time=now,
            )
        )
        if now - self.last_status_time >= self.status_every_s:
            self.last_status_time = now
            self._write_status(
                step,
                samples_per_s,
                f"Epoch {self.epoch}/{self.epochs}, step {self.epoch_step}/{self.steps}: "
                f"loss {float(logs.get('loss', math.nan)):.4f}, "
                f"accuracy {float(logs.get('accuracy', math.nan)):.1%}",
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        now = time.time()
        # Training time only: the validation pass ran between the last batch and now.
        seconds = max(self.epoch_end_time - self.epoch_start, 1e-9)
        samples_per_s = self.epoch_step * self.batch_size / seconds
        self.throughput.pause()
        record = records.epoch_record(
            epoch=epoch + 1,
            step=epoch * self.steps + self.epoch_step,
            fraction=self.epoch_step / self.steps,
            loss=logs.get("loss", math.nan),
            accuracy=logs.get("accuracy", math.nan),
            val_loss=logs.get("val_loss"),
            val_accuracy=logs.get("val_accuracy"),
            lr=current_lr(self.model),
            samples_per_s=samples_per_s,
            elapsed_s=now - self.train_start,
            time=now,
        )
        self.run.append_metrics(record)
        summary = f"loss {record['loss']:.4f}, accuracy {record['accuracy']:.1%}"
        if record["val_accuracy"] is not None:
            summary += f", validation accuracy {record['val_accuracy']:.1%}"
        self.last_status_time = now
        self._write_status(
            epoch * self.steps + self.epoch_step,
            self.throughput.rate or samples_per_s,
            f"Epoch {epoch + 1}/{self.epochs} done: {summary}",
        )

    def _write_status(self, step: int, samples_per_s: float, message: str) -> None:
        progress = records.progress_fields(
            done=step,
            total=self.epochs * self.steps,
            elapsed_s=time.time() - self.train_start,
            samples_per_s=samples_per_s,
            position=f"epoch {self.epoch}/{self.epochs}",
        )
        if progress["eta_s"] is not None and progress["progress"] < 1:
            message += (
                f"; {samples_per_s:,.0f} samples/s, about {format_duration(progress['eta_s'])} left"
            )
        self.run.update_status(
            message=message,
            epoch=self.epoch,
            epochs=self.epochs,
            step=step,
            steps_per_epoch=self.steps,
            **progress,
        )


class StopOnRequest(keras.callbacks.Callback):
    """End training at the next batch hook once somebody called ``run.request_stop()``.

    Attributes
    ----------
    stopped_at : str or None
        ``"epoch E, step S"`` where training was stopped, None if it never was.
    """

    def __init__(self, run: Run):
        super().__init__()
        self.run = run

    def on_train_begin(self, logs=None):
        self.stopped_at = None
        self.epoch = 1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_at is None and self.run.stop_requested():
            self.stopped_at = f"epoch {self.epoch}, step {min(batch, self.params['steps'] - 1) + 1}"
            self.model.stop_training = True
            self.run.update_status(
                state="stopping", message="Stopping: saving the model trained so far."
            )


class DivergenceGuard(keras.callbacks.Callback):
    """Stop a run whose loss became NaN/inf or exploded (`mnist_lab.hints` flags chance level).

    Parameters
    ----------
    run : Run
        The run being trained.
    inputs_normalized : bool
        Whether the inputs were normalized; decides which remedy the messages suggest first.

    Attributes
    ----------
    message : str or None
        Why training diverged, in plain words; None while it did not.
    """

    def __init__(self, run: Run, inputs_normalized: bool):
        super().__init__()
        self.run = run
        self.inputs_normalized = inputs_normalized

    @property
    def remedy(self) -> str:
        """What to try: normalizing first for raw inputs, else a smaller learning rate."""
        if self.inputs_normalized:
            return "the learning rate is too large; lower it (by 10x)"
        return "the learning rate is too large for these inputs; lower it or normalize the inputs"

    def on_train_begin(self, logs=None):
        self.message = None
        self.epoch = 1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = float(logs.get("loss", 0.0))
        if self.message is not None or not loss_is_diverging(loss):
            return
        where = f"epoch {self.epoch}, step {min(batch, self.params['steps'] - 1) + 1}"
        if math.isfinite(loss):
            what = f"The loss exploded to {loss:.1f} at {where} (chance level is {CHANCE_LOSS:.2f})"
        else:
            what = f"The loss became {'NaN' if math.isnan(loss) else 'infinite'} at {where}"
        self.message = f"{what}: {self.remedy}."
        self.model.stop_training = True


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

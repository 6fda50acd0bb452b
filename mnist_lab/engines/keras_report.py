"""A Keras ``model.fit`` reported like every other training loop: `ReportToRun`.

`mnist_lab.reporter.TrainingReporter` does the duties (records, progress, ETA, stop request,
divergence); `ReportToRun` only forwards Keras's hooks to it. The lab's own Keras networks
and `mnist_lab.callback.LabCallback` (a notebook's own ``fit``) both use it. Importing this
module imports Keras.
"""

from __future__ import annotations

import math

import keras

from mnist_lab.reporter import TrainingReporter


def current_lr(model) -> float:
    """The optimizer's learning rate now (after any schedule), as a float."""
    learning_rate = model.optimizer.learning_rate
    # .numpy() avoids NumPy 2's copy-keyword deprecation that np.array(variable) triggers.
    return float(learning_rate.numpy() if hasattr(learning_rate, "numpy") else learning_rate)


class ReportToRun(keras.callbacks.Callback):
    """Forward Keras's hooks to a `TrainingReporter`, and stop training when it says so.

    The reporter writes the records and the status, answers the stop request and spots
    divergence; this class only translates: Keras's 0-based epochs and batches, its logs.

    Parameters
    ----------
    reporter : TrainingReporter
        Reports the run being trained.
    """

    def __init__(self, reporter: TrainingReporter):
        super().__init__()
        self.reporter = reporter

    def on_train_begin(self, logs=None):
        self.reporter.begin(self.params["epochs"], self.params["steps"])

    def on_epoch_begin(self, epoch, logs=None):
        self.reporter.begin_epoch(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        # Keras logs running means since the epoch began: what batch_end expects.
        if self.reporter.batch_end(
            batch + 1, logs.get("loss"), logs.get("accuracy"), current_lr(self.model)
        ):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.reporter.end_epoch(
            loss=logs.get("loss", math.nan),
            accuracy=logs.get("accuracy", math.nan),
            val_loss=logs.get("val_loss"),
            val_accuracy=logs.get("val_accuracy"),
            lr=current_lr(self.model),
        )

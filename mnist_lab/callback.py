"""`LabCallback`: any Keras ``fit`` becomes a lab run, live while it trains, judged at the end.

Like ``TensorBoard(log_dir)`` or MLflow's autolog, one line in a notebook's ``fit``::

    model.fit(x, y, epochs=2, callbacks=[LabCallback(name="my MLP")])

The run appears in the runs directory with the engine ``external`` ("trained outside the
lab"). While it trains, `mnist_lab.reporter.TrainingReporter` writes the records every run
has (the Train page's live panel, Compare's curves and the Class page read them) and answers
the lab's Stop; at the end the model is saved and evaluated on the test split of its
dataset. Importing this module imports Keras.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import keras

from mnist_lab.engines import get_engine
from mnist_lab.engines.keras_report import ReportToRun
from mnist_lab.evaluation import evaluated_words
from mnist_lab.files import now_iso
from mnist_lab.hints import hint_text, run_hints
from mnist_lab.reporter import TrainingReporter, learning_rate_remedy
from mnist_lab.runs import Run, RunStore
from mnist_lab.status import LIVE_STATES

# Keras's batch size when fit is given arrays and no batch_size.
KERAS_DEFAULT_BATCH_SIZE = 32
# How often the watcher looks whether the notebook's fit is still under way.
WATCH_EVERY_S = 1.0
# Least time between two batch reports (a record, the stop check): a notebook's fit calls
# back after every step, and the Train page redraws only once a second.
REPORT_EVERY_S = 0.2


def _fit_frame(model: Any) -> FrameType | None:
    """The frame of ``model.fit`` that is calling back now, if Keras's own ``fit`` is."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
            return frame
        frame = frame.f_back
    return None


def _fit_batch_size(frame: FrameType | None) -> int | None:
    """The batch size ``fit`` was given; Keras 3 tells callbacks only the steps per epoch."""
    if frame is None:
        return None
    given = frame.f_locals.get("batch_size")
    if isinstance(given, int):
        return given
    # Arrays without a batch_size are cut into Keras's default; a dataset batches itself.
    return KERAS_DEFAULT_BATCH_SIZE if hasattr(frame.f_locals.get("x"), "shape") else None


def _still_running(thread_id: int, frame: FrameType) -> bool:
    """Whether thread ``thread_id`` is still inside ``frame`` (the fit has not returned)."""
    current = sys._current_frames().get(thread_id)
    while current is not None:
        if current is frame:
            return True
        current = current.f_back
    return False


class LabCallback(ReportToRun):
    """Show a Keras ``fit`` in MNIST Lab as a run: live records, Stop, then an evaluation.

    ``__init__`` only stores the arguments; the run is made at ``on_train_begin``, after the
    model was checked, so a model that cannot read MNIST digits costs no time and leaves no
    run behind.

    Parameters
    ----------
    name : str, default "notebook"
        The run's name in the lab.
    runs_dir : str or Path, optional
        The lab's runs directory; ``$MNIST_LAB_RUNS_DIR``, else ``runs/``, when omitted.
    owner : str, optional
        Who trains it; ``$MNIST_LAB_USER`` when omitted.
    dataset : str, default "MNIST"
        The dataset whose test split judges the model at the end (one the lab stores).
    normalization : str, optional
        How the model's inputs were made from 0-255 pixels, named as the lab names them
        (``raw``, ``scale``: divided by 255, ``standardize``, ``per-pixel``; see
        `mnist_lab.preprocess.NORMALIZATIONS`). Default ``scale`` unless ``preprocess`` is
        given.
    mean, std : float or array, optional
        The constants of ``standardize`` (scalars, in units of pixel/255) or ``per-pixel``
        (28x28); when omitted they are fitted on the dataset's training split.
    preprocess : callable, optional
        The notebook's own function from uint8 images ``(n, 28, 28)`` to the model's input,
        instead of a normalization. It is recorded by name only: the lab cannot run it, so
        the evaluation at the end is made here, and the lab's pages that feed the model new
        digits (Playground, Inside, explanations) say they cannot.
    batch_size : int, optional
        Samples per step, for the samples/s figure; read from ``fit``'s own argument when
        omitted.

    Examples
    --------
    >>> from mnist_lab import LabCallback  # doctest: +SKIP
    >>> model.fit(x, y, epochs=2, callbacks=[LabCallback(name="my MLP")])  # doctest: +SKIP
    """

    # Keras may call on_train_batch_end from its thread pool without waiting for it, so the
    # training loop never stops to turn a step's logs into numbers; it waits for pending
    # calls at each epoch's end.
    async_safe = True

    def __init__(
        self,
        name: str = "notebook",
        *,
        runs_dir: str | Path | None = None,
        owner: str | None = None,
        dataset: str = "MNIST",
        normalization: str | None = None,
        mean: Any = None,
        std: Any = None,
        preprocess: Callable | None = None,
        batch_size: int | None = None,
    ):
        keras.callbacks.Callback.__init__(self)
        self.name = name
        self.runs_dir = runs_dir
        self.owner = owner
        self.dataset = dataset
        self.normalization = normalization
        self.mean = mean
        self.std = std
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.run: Run | None = None

    def on_train_begin(self, logs=None):
        steps = self.params.get("steps")
        if not steps:
            raise ValueError(
                "LabCallback needs to know the steps per epoch: fit on arrays, or on a "
                "dataset of known length (or pass steps_per_epoch=)"
            )
        fit = _fit_frame(self.model)
        batch_size = self.batch_size or _fit_batch_size(fit)
        normalization = self.normalization or (None if self.preprocess else "scale")
        self.run = get_engine("external").begin_notebook_run(
            RunStore(self.runs_dir),
            self.model,
            name=self.name,
            owner=self.owner,
            dataset=self.dataset,
            normalization=normalization,
            mean=self.mean,
            std=self.std,
            preprocess=self.preprocess,
            batch_size=batch_size,
            epochs=self.params["epochs"],
            steps_per_epoch=steps,
        )
        self.reporter = TrainingReporter(
            self.run, learning_rate_remedy(normalization != "raw"), batch_size=batch_size or 1
        )
        self.last_report, self.last_batch = -math.inf, -1
        self.lock = threading.Lock()
        self.ended = threading.Event()
        if fit is not None:
            threading.Thread(
                target=self._watch,
                args=(threading.get_ident(), fit),
                name=f"lab-watch-{self.run.id}",
                daemon=True,
            ).start()
        super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.last_batch = -1
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        with self.lock:
            now = time.monotonic()
            # An epoch's last step is always reported, so its batch records reach its end;
            # a step overtaken by a later one (Keras's pool runs calls side by side) is not.
            due = now - self.last_report >= REPORT_EVERY_S or batch + 1 == self.params["steps"]
            if not due or batch <= self.last_batch:
                return
            self.last_report, self.last_batch = now, batch
            super().on_train_batch_end(batch, logs)

    def _watch(self, thread_id: int, fit: FrameType) -> None:
        """Mark the run interrupted if the fit ends without reaching ``on_train_end``.

        An error or an interrupt in the notebook leaves the kernel alive, so the pid check
        that catches a dead kernel cannot see it.
        """
        while not self.ended.wait(WATCH_EVERY_S):
            if not _still_running(thread_id, fit):
                self.run.update_status(
                    when=LIVE_STATES,
                    state="interrupted",
                    ended=now_iso(),
                    message="The notebook's fit ended without finishing (an error or an "
                    "interrupt). The curves up to then are kept.",
                )
                return

    def on_train_end(self, logs=None):
        self.ended.set()
        if self.reporter.divergence is not None:
            self._end("diverged", self.reporter.divergence)
            return
        try:
            evaluation = get_engine("external").end_notebook_run(
                self.run, self.model, self.preprocess
            )
        except Exception as error:
            # The notebook's model is trained and stays in memory: say so, do not raise.
            message = f"The model could not be saved or evaluated: {type(error).__name__}: {error}"
            warnings.warn(message, stacklevel=2)
            self._end("failed", message)
            return
        result = evaluated_words(evaluation)
        if self.reporter.stopped_at is not None:
            self._end(
                "stopped",
                f"Stopped at {self.reporter.stopped_at} as requested; the model so far is "
                f"saved and {result}.",
            )
            return
        self.reporter.finish()
        self._end("finished", f"Finished: {result}.")

    def _end(self, state: str, message: str) -> None:
        """The run's final state, with the hints its records teach."""
        hint = ""
        with contextlib.suppress(ValueError):
            hint = hint_text(run_hints(self.run.metrics(), self.run.config()))
        self.run.update_status(state=state, message=message, ended=now_iso(), hint=hint)

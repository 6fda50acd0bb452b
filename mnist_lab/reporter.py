"""The duties of any training loop, done one way for every engine: the `TrainingReporter`.

A loop tells the reporter where it is; the reporter measures throughput over a sliding
window, writes ``metrics.jsonl`` records and ``status.json`` progress (share done, ETA,
samples/s, position, a message), answers the stop request and ends a diverging run with a
message in plain words. Like Keras's ``Progbar`` it knows no framework: the Keras engine
forwards its callback hooks to it, the NumPy loop and the scikit-learn fit call it directly,
and a notebook's own loop could too. The records themselves are built by `mnist_lab.records`.

Samples per second mean one thing everywhere: training samples over training seconds, where
the time between the end of training and the next start (validation passes, computing a
chunk's metrics) is left out. ``status.json`` and ``batch`` records show the rate over the
last `THROUGHPUT_WINDOW_S` seconds; an ``epoch`` or ``chunk`` record the rate of its period.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING

from mnist_lab import records
from mnist_lab.evaluation import CHANCE_LOSS

if TYPE_CHECKING:
    from mnist_lab.runs import Run

# A running mean above 10 nats (chance is 2.3) means confidently wrong: the weights blew up.
EXPLODING_LOSS = 10.0
# Least time between two progress writes of status.json: each costs an fsync.
STATUS_EVERY_S = 0.5
# Throughput is averaged over this many seconds of training, so one slow report (an epoch's
# start, a checkpoint) does not make the samples/s figure jump.
THROUGHPUT_WINDOW_S = 10.0


# What a run does before its first progress, in order: while a stage lasts, status.json's
# ``message`` says it and its ``stage`` names it. The one list of stages: the worker and the
# engines announce them (`stage_message`), the live panel puts them on its bar (`stage_label`).
STAGES = {
    "starting": ("Starting: loading {packages} and the data…", "loading the libraries"),
    "data": ("Loading and normalizing the data…", "loading the data"),
    "model": ("Building and compiling the model…", "building the model"),
    "first_step": (
        "Training: the first {unit} is under way (the first takes longest)…",
        "the first training step",
    ),
}


def stage_message(stage: str, **words: str) -> str:
    """What status.json says during ``stage`` (a key of `STAGES`), its ``words`` filled in.

    Examples
    --------
    >>> stage_message("first_step", unit="batch")
    'Training: the first batch is under way (the first takes longest)…'
    """
    return STAGES[stage][0].format(**words)


def stage_label(stage: str) -> str:
    """``stage`` in a few words, with its place among `STAGES`.

    Examples
    --------
    >>> stage_label("model")
    'getting ready, 3 of 4: building the model'
    """
    return f"getting ready, {list(STAGES).index(stage) + 1} of {len(STAGES)}: {STAGES[stage][1]}"


def loss_is_diverging(loss: float) -> bool:
    """Whether a loss is NaN, infinite or above `EXPLODING_LOSS`.

    Examples
    --------
    >>> loss_is_diverging(float("nan")), loss_is_diverging(12.5), loss_is_diverging(0.3)
    (True, True, False)
    """
    return not math.isfinite(loss) or loss > EXPLODING_LOSS


def learning_rate_remedy(inputs_normalized: bool) -> str:
    """What to try when a network diverges: normalizing raw inputs, else a smaller rate.

    Examples
    --------
    >>> learning_rate_remedy(True)
    'the learning rate is too large; lower it (by 10x)'
    """
    if inputs_normalized:
        return "the learning rate is too large; lower it (by 10x)"
    return "the learning rate is too large for these inputs; lower it or normalize the inputs"


def divergence_message(loss: float, where: str, remedy: str) -> str:
    """Why training stopped on a diverging ``loss`` at ``where``, and what to try.

    Examples
    --------
    >>> divergence_message(22530426880.0, "step 3", "lower it")[:40]
    'The loss exploded to 22,530,426,880.0 at'
    >>> divergence_message(float("inf"), "epoch 1, step 3", "lower it")
    'The loss became infinite at epoch 1, step 3: lower it.'
    """
    if math.isfinite(loss):
        what = f"The loss exploded to {loss:,.1f} at {where} (chance level is {CHANCE_LOSS:.2f})"
    else:
        what = f"The loss became {'NaN' if math.isnan(loss) else 'infinite'} at {where}"
    return f"{what}: {remedy}."


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


def window_mean(mean_now: float, count_now: float, mean_before: float, count_before: float):
    """The mean of the values added between two readings of a running mean.

    Loops report ``loss`` and ``accuracy`` as running means since the epoch began (as
    Keras does); the mean of only the newest ``count_now - count_before`` values follows
    from two readings.

    Examples
    --------
    >>> window_mean(2.0, 4, 3.0, 2)  # (4 * 2.0 - 2 * 3.0) / 2
    1.0
    """
    added = count_now - count_before
    if added <= 0:
        return float(mean_now)
    return float((count_now * mean_now - count_before * mean_before) / added)


class Throughput:
    """Training samples per second over the last `THROUGHPUT_WINDOW_S` seconds of training.

    A window rather than the last interval between two reports, so the slow first report of
    an epoch does not make the figure jump; time between `pause` and `resume` (validation
    passes) is left out.

    Attributes
    ----------
    seconds, samples : float
        Training seconds in the window, and the samples trained in them.

    Examples
    --------
    >>> meter = Throughput()
    >>> meter.resume(now=0.0, samples=0)
    >>> meter.add(now=1.0, samples=100), meter.add(now=3.0, samples=200)
    (100.0, 66.66666666666667)
    """

    def __init__(self, window_s: float = THROUGHPUT_WINDOW_S):
        self.window_s = window_s
        self.intervals: deque[tuple[float, float]] = deque()
        self.last: tuple[float, float] | None = None
        # Running totals of the intervals, so a report costs the same however many there are.
        self.seconds = self.samples = 0.0

    def resume(self, now: float, samples: float) -> None:
        """Start counting again from ``samples`` done at time ``now``."""
        self.last = (now, samples)

    def pause(self) -> None:
        """Stop the clock until the next `resume` (or `add`, which restarts it)."""
        self.last = None

    def add(self, now: float, samples: float) -> float | None:
        """Record that ``samples`` (a running total) were done by ``now``; return the rate."""
        if self.last is not None:
            interval = (now - self.last[0], samples - self.last[1])
            self.intervals.append(interval)
            self.seconds += interval[0]
            self.samples += interval[1]
        self.last = (now, samples)
        while len(self.intervals) > 1 and self.seconds - self.intervals[0][0] >= self.window_s:
            seconds, samples_then = self.intervals.popleft()
            self.seconds -= seconds
            self.samples -= samples_then
        return self.rate

    @property
    def rate(self) -> float | None:
        """Samples per second over the window; None before two readings."""
        return self.samples / self.seconds if self.seconds > 0 else None


def _known(value: float | None) -> float:
    """A float for a record, NaN for a value the loop did not report."""
    return math.nan if value is None else float(value)


class TrainingReporter:
    """Progress, throughput, ETA, the stop request and divergence of one training run.

    A loop in epochs calls `begin`, then per epoch `begin_epoch`, `batch_end` as often as
    it wants a ``batch`` record, and `end_epoch`. A loop without epochs (L-BFGS) calls
    `begin`, then per chunk of iterations `trained` when the chunk is done and `end_chunk`
    once its metrics are known. Either ends with `finish` when training completed.

    Parameters
    ----------
    run : Run
        Receives the records (``append_metrics``) and the status (``update_status``); is
        asked ``stop_requested()``.
    remedy : str
        What to try when the loss diverges; ends the message (see `learning_rate_remedy`).
    batch_size : int, default 1
        Samples per optimizer step of a loop in epochs.
    status_every_s : float, default `STATUS_EVERY_S`
        Least time between two progress writes of ``status.json`` (an epoch's or a chunk's
        end always writes).

    Attributes
    ----------
    divergence : str or None
        Why training diverged, in plain words; None while it did not.
    stopped_at : str or None
        Where training stopped on request (``"epoch 2, step 7"``); None if it did not.
    epoch : int
        The epoch under way (1-based), once `begin_epoch` was called.
    steps_per_epoch : int or None
        As given to `begin`.
    """

    def __init__(
        self,
        run: Run,
        remedy: str,
        batch_size: int = 1,
        status_every_s: float = STATUS_EVERY_S,
    ):
        self.run = run
        self.remedy = remedy
        self.batch_size = batch_size
        self.status_every_s = status_every_s

    @property
    def should_end(self) -> bool:
        """Whether training must end now: it diverged or a stop was requested."""
        return self.divergence is not None or self.stopped_at is not None

    def stage(self, stage: str) -> None:
        """The run is in ``stage`` (a key of `STAGES`) before training begins: say so."""
        self.run.update_status(message=stage_message(stage), stage=stage)

    def begin(self, epochs: int, steps_per_epoch: int | None = None) -> None:
        """Training starts: reset the run's state and say so in ``status.json``.

        Until the first progress, the run is in stage ``first_step`` (`STAGES`).

        Parameters
        ----------
        epochs : int
            Epochs planned (chunks, for a loop without epochs).
        steps_per_epoch : int, optional
            Optimizer steps per epoch; None for a loop without epochs.
        """
        now = time.time()
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self.started = now
        self.last_status_time = -math.inf
        self.divergence = self.stopped_at = None
        self.throughput = Throughput()
        self._start_period(now, 0.0)
        shape = {} if steps_per_epoch is None else {"steps_per_epoch": steps_per_epoch}
        unit = "chunk" if steps_per_epoch is None else "batch"
        self.run.update_status(
            message=stage_message("first_step", unit=unit),
            stage="first_step",
            epoch=0,
            epochs=epochs,
            progress=0.0,
            **shape,
        )

    def begin_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (1-based) starts."""
        self.epoch = epoch
        self.epoch_step = self.last_step = 0
        # The running means at the previous batch record, to turn them into window means.
        self.last_means = (0.0, 0.0)
        self._start_period(time.time(), (epoch - 1) * self.steps_per_epoch * self.batch_size)

    def batch_end(self, step: int, loss: float | None, accuracy: float | None, lr: float) -> bool:
        """Training reached ``step`` of the epoch: a ``batch`` record, checks, status if due.

        Parameters
        ----------
        step : int
            Optimizer steps done in this epoch (1-based; one past the end counts as the end).
        loss, accuracy : float or None
            Running means since the epoch began; None where the loop has none.
        lr : float
            The learning rate now.

        Returns
        -------
        bool
            Whether training must end (see `should_end`).
        """
        now = time.time()
        self.epoch_step = min(step, self.steps_per_epoch)
        done = (self.epoch - 1) * self.steps_per_epoch + self.epoch_step
        samples_per_s = self._trained(now, done * self.batch_size) or 0.0
        means = (_known(loss), _known(accuracy))
        window = [
            window_mean(mean, self.epoch_step, before, self.last_step)
            for mean, before in zip(means, self.last_means, strict=True)
        ]
        self.run.append_metrics(
            records.batch_record(
                epoch=self.epoch,
                step=done,
                window_steps=self.epoch_step - self.last_step,
                loss=window[0],
                accuracy=window[1],
                lr=lr,
                samples_per_s=samples_per_s,
                time=now,
            )
        )
        self.last_step, self.last_means = self.epoch_step, means
        if self._check(loss, f"epoch {self.epoch}, step {self.epoch_step}"):
            return True
        if now - self.last_status_time >= self.status_every_s:
            self._epoch_status(
                now,
                samples_per_s,
                f"Epoch {self.epoch}/{self.epochs}, step {self.epoch_step}/"
                f"{self.steps_per_epoch}: loss {means[0]:.4f}, accuracy {means[1]:.1%}",
            )
        return False

    def end_epoch(
        self,
        loss: float,
        accuracy: float,
        val_loss: float | None,
        val_accuracy: float | None,
        lr: float,
    ) -> dict:
        """The epoch ended (maybe cut short): its ``epoch`` record and status; returns the record.

        Its samples/s cover the epoch's steps up to its last `batch_end`, so the validation
        pass that ran since is left out.
        """
        now = time.time()
        samples_per_s = self._period_rate()
        self.throughput.pause()
        record = records.epoch_record(
            epoch=self.epoch,
            step=(self.epoch - 1) * self.steps_per_epoch + self.epoch_step,
            fraction=self.epoch_step / self.steps_per_epoch,
            loss=loss,
            accuracy=accuracy,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            lr=lr,
            samples_per_s=samples_per_s,
            elapsed_s=now - self.started,
            time=now,
        )
        self.run.append_metrics(record)
        summary = f"loss {record['loss']:.4f}, accuracy {record['accuracy']:.1%}"
        if record["val_accuracy"] is not None:
            summary += f", validation accuracy {record['val_accuracy']:.1%}"
        self._epoch_status(
            now,
            self.throughput.rate or samples_per_s,
            f"Epoch {self.epoch}/{self.epochs} done: {summary}",
        )
        return record

    def trained(self, samples: float) -> None:
        """A loop without epochs finished a chunk: ``samples`` (a running total) by now.

        The clock stops until `end_chunk`, so computing the chunk's metrics is not counted
        as training time.
        """
        self._trained(time.time(), samples)
        self.throughput.pause()

    def end_chunk(
        self,
        *,
        chunk: int,
        iterations: int,
        loss: float,
        accuracy: float,
        fraction: float,
        position: str,
        message: str,
    ) -> bool:
        """The ``chunk`` record and status of a chunk counted by `trained`; the clock restarts.

        Parameters
        ----------
        chunk : int
            The chunk's number, from 1.
        iterations : int
            Optimizer iterations since training began.
        loss, accuracy : float
            The training metrics now.
        fraction : float
            The share of the fit done, as the loop estimates it (0-1).
        position, message : str
            Where the fit is and what it does, in words, for ``status.json``.

        Returns
        -------
        bool
            Whether training must end (see `should_end`).
        """
        now = time.time()
        samples_per_s = self._period_rate()
        self.run.append_metrics(
            records.chunk_record(
                chunk=chunk,
                iterations=iterations,
                loss=loss,
                accuracy=accuracy,
                samples_per_s=samples_per_s,
                elapsed_s=now - self.started,
                time=now,
            )
        )
        progress = records.progress_fields(
            done=fraction,
            total=1.0,
            elapsed_s=now - self.started,
            samples_per_s=self.throughput.rate or samples_per_s,
            position=position,
        )
        self._write_status(
            now, message, progress, epoch=chunk, epochs=self.epochs, iterations=iterations
        )
        self._start_period(now, self.period_samples_end)
        return self._check(loss, f"chunk {chunk}")

    def finish(self, **fields) -> None:
        """Training completed: progress 1, nothing left, and any final ``fields``."""
        self.run.update_status(progress=1.0, eta_s=0.0, **fields)

    def _start_period(self, now: float, samples: float) -> None:
        """An epoch or a chunk starts at ``now`` with ``samples`` done: the clock runs."""
        self.throughput.resume(now, samples)
        self.period_start = self.period_end = now
        self.period_samples = self.period_samples_end = samples

    def _trained(self, now: float, samples: float) -> float | None:
        """``samples`` (a running total) were trained by ``now``; the window's rate."""
        self.period_end, self.period_samples_end = now, samples
        return self.throughput.add(now, samples)

    def _period_rate(self) -> float:
        """Samples per second of the epoch or chunk under way, up to its last training."""
        seconds = max(self.period_end - self.period_start, 1e-9)
        return (self.period_samples_end - self.period_samples) / seconds

    def _check(self, loss: float | None, where: str) -> bool:
        """Look for divergence, then for a stop request; whether training must end."""
        if self.should_end:
            return True
        if loss is not None and loss_is_diverging(float(loss)):
            self.divergence = divergence_message(float(loss), where, self.remedy)
        elif self.run.stop_requested():
            self.stopped_at = where
            self.run.update_status(
                state="stopping", message="Stopping: saving the model trained so far."
            )
        return self.should_end

    def _epoch_status(self, now: float, samples_per_s: float, message: str) -> None:
        """Write the progress of a loop in epochs, with ``message``."""
        step = (self.epoch - 1) * self.steps_per_epoch + self.epoch_step
        progress = records.progress_fields(
            done=step,
            total=self.epochs * self.steps_per_epoch,
            elapsed_s=now - self.started,
            samples_per_s=samples_per_s,
            position=f"epoch {self.epoch}/{self.epochs}",
        )
        self._write_status(
            now,
            message,
            progress,
            epoch=self.epoch,
            epochs=self.epochs,
            step=step,
            steps_per_epoch=self.steps_per_epoch,
        )

    def _write_status(self, now: float, message: str, progress: dict, **fields) -> None:
        """Write ``progress`` (`records.progress_fields`) and ``fields``; the message gains
        the throughput and the time left while some is."""
        if progress["eta_s"] is not None and progress["progress"] < 1:
            message += (
                f"; {progress['samples_per_s'] or 0:,.0f} samples/s, "
                f"about {format_duration(progress['eta_s'])} left"
            )
        self.last_status_time = now
        # Progress ends the stages before it.
        self.run.update_status(message=message, stage="", **fields, **progress)

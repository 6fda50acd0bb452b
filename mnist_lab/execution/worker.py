"""The worker process: waits for a training slot, then runs one run directory's engine.

Started detached by the local dispatcher (``python -m mnist_lab worker --run-dir DIR``), or in a
thread of a Ray task, so every launcher trains through exactly the same code path.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import traceback
from collections.abc import Iterator
from pathlib import Path

from mnist_lab.engines import engine_of
from mnist_lab.execution.slots import first_in_queue, training_slot
from mnist_lab.files import DamagedRunError, now_iso
from mnist_lab.hints import hint_text, run_hints
from mnist_lab.processes import process_start_time
from mnist_lab.reporter import stage_message
from mnist_lab.runs import Run, RunOutcome, RunStore
from mnist_lab.status import QUEUED

# Held (flock) by the one worker that trains the run, for as long as it lives.
CLAIM_FILE = "worker.lock"
# The worker's CPU priority (0 normal, 19 lowest): the pages of a class come before training.
WORKER_NICENESS = 10


def describe_failure(error: BaseException) -> str:
    """A plain-language message for an exception that ended a run."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return (
            "The disk is full, so the run could not save its files. Free some space "
            "(or delete old runs) and train again; earlier runs are untouched."
        )
    if isinstance(error, MemoryError):
        return "Out of memory: try a smaller batch size, a smaller model or a training subset."
    return f"{type(error).__name__}: {error}"


def starting_message(run: Run) -> str:
    """What a run that just got its slot waits for: its engine's libraries and the data.

    Its engine's reporter replaces it as training begins.
    """
    try:
        packages = engine_of(run).settings_class.packages
    except ValueError:
        # A config that names no engine fails in a moment, with its reason, as training starts.
        return "Starting…"
    return stage_message("starting", packages=", ".join(packages))


def final_hint(run: Run) -> str:
    """The hints of a run that ended (`mnist_lab.hints`), as one paragraph; "" if none."""
    try:
        return hint_text(run_hints(run.metrics(), run.config()))
    except DamagedRunError:
        return ""


@contextlib.contextmanager
def claim(run: Run) -> Iterator[None]:
    """Hold ``run`` for this worker: a ``flock`` on its `CLAIM_FILE` until the block ends.

    The kernel drops the lock when the process dies however it dies, so a killed worker's
    claim never needs taking over, and two workers can never both hold one run.

    Raises
    ------
    ValueError
        If another worker holds the run, naming its pid.
    """
    handle = open(run.file(CLAIM_FILE), "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ValueError(
                f"run {run.id} is already being trained by another worker (pid {holder}); "
                "this one leaves it alone"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def run_worker(run_dir: str | Path) -> str:
    """Train the run in ``run_dir`` once a slot is free, recording every state change.

    The worker first claims the run (`claim`): a second worker on the same run refuses
    before touching any of its files, and so does a worker on a run that no longer waits.
    It writes its pid into ``status.json`` only as it starts training: until then the run
    waits in the queue, and a worker killed while it waits for its slot leaves it waiting.

    Parameters
    ----------
    run_dir : str or Path
        A run directory made by `RunStore.create`.

    Returns
    -------
    str
        The final state written to ``status.json``.

    Raises
    ------
    ValueError
        If another worker trains the run, or it ran already.
    """
    run = Run(run_dir)
    with claim(run):
        state = run.raw_status().get("state")
        if state != QUEUED:
            raise ValueError(
                f"run {run.id} is {state}, not waiting: a worker trains a run only once"
            )
        _lower_priority()
        return _train_claimed(run)


def _lower_priority() -> None:
    """Lower this process's CPU priority to WORKER_NICENESS once, never further."""
    os.nice(max(0, WORKER_NICENESS - os.nice(0)))
    if os.getsid(0) == os.getpid():
        # A detached worker leads its own session, so Linux's autogroup scheduler shares the
        # CPU between it and the server as equals whatever its nice value: lower its group.
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(WORKER_NICENESS))


def _train_claimed(run: Run) -> str:
    """`run_worker` once the run is claimed: wait for a slot, train, record the outcome."""
    store = RunStore(run.path.parent)
    with training_slot(
        store, should_give_up=run.stop_requested, may_start=lambda: first_in_queue(store, run)
    ) as has_slot:
        pid = os.getpid()
        running = has_slot and run.update_status(
            when={QUEUED},
            state="running",
            pid=pid,
            pid_start=process_start_time(pid),
            started=now_iso(),
            # Loading TensorFlow alone takes 10-25 s: the page says what the wait is.
            message=starting_message(run),
            stage="starting",
        )
        if not has_slot:
            outcome = RunOutcome("stopped", "Stopped while waiting in the queue.")
        elif running is None:
            # It left the queue while this worker waited for its slot (stopped meanwhile).
            return run.raw_status()["state"]
        else:
            try:
                outcome = engine_of(run).train(run)
            except Exception as error:
                traceback.print_exc()
                outcome = RunOutcome("failed", describe_failure(error))
        # Still inside the slot: the next queued run must not read "running" beside this one.
        try:
            run.update_status(
                state=outcome.state,
                message=outcome.message,
                ended=now_iso(),
                hint=final_hint(run),
            )
        except OSError:
            # Even status.json could not be written (full disk): the old one stays readable.
            traceback.print_exc()
    return outcome.state

"""The local queue: one dispatcher process starts each queued run's worker when a slot frees.

No process waits per queued run. `LocalExecutor.launch` puts the run in the queue
(`mnist_lab.execution.queue_entry`) and makes sure a dispatcher runs
(``python -m mnist_lab dispatch``); the dispatcher starts the next waiting run's worker
(`mnist_lab.execution.fair_queue` decides which) whenever fewer runs train than that run
allows, and exits once nothing waits and its workers have ended. The queue is the run
directories themselves, so it survives a restart of the server (the dispatcher is detached,
and a new one takes over the same files). Runs for a Ray cluster wait in the same files,
marked ``"executor": "ray"``: the launching process admits them
(`mnist_lab.execution.ray_cluster`) with the same policy, `admit`::

    runs/<id>/dispatch.json   the run's queue entry (`mnist_lab.execution.queue_entry`)
    runs/.dispatcher.lock     flock held by the one dispatcher of this run store
    runs/.queue_order.json    the teacher's order of waiting runs (`fair_queue.teacher_order`)
"""

from __future__ import annotations

import fcntl
import os
import time

from mnist_lab.execution.fair_queue import (
    QueuePlace,
    fair_order,
    queue_places,
    runs_per_student,
    runs_to_start,
    teacher_order,
)
from mnist_lab.execution.queue_entry import EXECUTORS, LOCAL, mark_started, queue_entry
from mnist_lab.execution.slots import MAX_PARALLEL_ENV
from mnist_lab.files import now_iso
from mnist_lab.processes import process_alive, process_start_time, start_detached
from mnist_lab.runs import LOG_FILE, RUNS_DIR_ENV, Run, RunStore
from mnist_lab.status import LIVE_STATES, QUEUED
from mnist_lab.timing import expected_for_config

LOCK_FILE = ".dispatcher.lock"
DISPATCHER_LOG = ".dispatcher.log"


def _queues(store: RunStore) -> dict[str, tuple[list[tuple[Run, int]], list[Run]]]:
    """`queue_state` of every executor, from one pass over the runs."""
    queues: dict[str, tuple[list, list]] = {executor: ([], []) for executor in EXECUTORS}
    for run in reversed(store.list()):
        entry = queue_entry(run)
        if entry is None or run.status()["state"] not in LIVE_STATES:
            continue
        waiting, training = queues.get(entry.get("executor", LOCAL), ([], []))
        if "worker" in entry:
            training.append(run)
        else:
            waiting.append((run, int(entry["parallel"])))
    return queues


def queue_state(store: RunStore, executor: str = LOCAL) -> tuple[list[tuple[Run, int]], list[Run]]:
    """``executor``'s waiting runs, oldest first, each with its ``parallel``; and its runs training.

    A run counts as training once its worker was started and until its status says it ended
    (or its worker died); a waiting run is a live queued run whose worker was not started.
    """
    return _queues(store)[executor]


def current_queue(store: RunStore) -> list[QueuePlace]:
    """Every waiting run with its position and expected start, next to start first.

    A lab trains either here or on a Ray cluster: the queue shown is the one with waiting
    runs, the local one first. Expected durations come from each run's status (the Train
    page records one at launch) or, failing that, from `timing.expected_for_config`.
    """
    queues = _queues(store)
    for executor in EXECUTORS:
        waiting, training = queues[executor]
        if waiting:
            break
    else:
        return []
    owners = [run.owner for run in training]
    ordered = fair_order([run for run, _ in waiting], teacher_order(store), owners)
    throughputs: dict = {}

    def duration(run: Run) -> float | None:
        recorded = run.status().get("expected_training_s")
        if isinstance(recorded, int | float):
            return float(recorded)
        estimate = expected_for_config(store, run.config(), throughputs)
        return None if estimate is None else estimate.seconds

    slots = max(parallel for _, parallel in waiting)
    return queue_places(ordered, training, slots, runs_per_student(), duration)


def _try_lock(store: RunStore):
    """The dispatcher lock's open handle if this process got it, else None."""
    store.root.mkdir(parents=True, exist_ok=True)
    handle = open(store.root / LOCK_FILE, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def dispatcher_running(store: RunStore) -> bool:
    """Whether a dispatcher holds this store's lock right now."""
    handle = _try_lock(store)
    if handle is None:
        return True
    handle.close()
    return False


def ensure_dispatcher(store: RunStore) -> int | None:
    """Start a detached dispatcher unless one runs; return its pid (None if one ran).

    Called after the run is enqueued: a dispatcher about to exit re-reads the queue after
    releasing its lock, so a run enqueued meanwhile is never left waiting alone.
    """
    if dispatcher_running(store):
        return None
    env = {RUNS_DIR_ENV: str(store.root)}
    return start_detached(["dispatch"], store.root / DISPATCHER_LOG, env)


def start_worker(run: Run, parallel: int) -> int:
    """Start ``run``'s worker and record it in ``dispatch.json``; return the worker's pid."""
    env = {RUNS_DIR_ENV: str(run.path.parent), MAX_PARALLEL_ENV: str(parallel)}
    pid = start_detached(["worker", "--run-dir", str(run.path)], run.file(LOG_FILE), env)
    mark_started(run, parallel, pid, LOCAL)
    return pid


def admit(
    store: RunStore, executor: str, slots: int | None = None
) -> tuple[list[tuple[Run, int]], list[Run]]:
    """One round of the fair policy over ``executor``'s queue.

    Runs asked to stop while they wait are marked stopped, never started.

    Parameters
    ----------
    store : RunStore
    executor : {"local", "ray"}
    slots : int, optional
        Runs that may train at once; each run's own ``parallel`` when omitted.

    Returns
    -------
    tuple
        The runs to start now, each with its ``parallel``, in order; and the runs left
        waiting.
    """
    waiting, training = queue_state(store, executor)
    parallel_of = {run.id: slots or parallel for run, parallel in waiting}
    owners = [run.owner for run in training]
    ordered = []
    for run in fair_order([run for run, _ in waiting], teacher_order(store), owners):
        if run.stop_requested():
            # Only while it still waits: a worker that started meanwhile stops it itself.
            run.update_status(
                when={QUEUED},
                state="stopped",
                message="Stopped while waiting in the queue.",
                ended=now_iso(),
            )
        else:
            ordered.append(run)
    starts = runs_to_start(ordered, parallel_of, owners, runs_per_student())
    left = [run for run in ordered if run not in starts]
    return [(run, parallel_of[run.id]) for run in starts], left


def run_dispatcher(store: RunStore, poll_s: float = 0.3) -> int:
    """Start queued runs' workers in `fair_order` as slots free up; return how many.

    Exits at once if another dispatcher holds the lock, and once nothing waits and the
    workers it started have ended. While a run waits, its ``status.json`` names this
    process, so it reads as queued (not interrupted) for as long as the dispatcher lives; a
    run stopped while it waits is marked stopped without ever starting.
    """
    lock = _try_lock(store)
    if lock is None:
        return 0
    pid = os.getpid()
    me = {"pid": pid, "pid_start": process_start_time(pid)}
    workers: list[int] = []
    while True:
        starts, left = admit(store, LOCAL)
        for run, parallel in starts:
            workers.append(start_worker(run, parallel))
        for run in left:
            if run.raw_status().get("pid") != pid:
                # A worker that started meanwhile has written its own pid: leave it.
                run.update_status(when={QUEUED}, **me)
        # It outlives its workers, so they are reaped by it, never left <defunct>.
        if not starts and not left and not any(map(process_alive, workers)):
            lock.close()
            # A launch may have enqueued a run while it saw the lock still held.
            if not queue_state(store)[0] or (lock := _try_lock(store)) is None:
                return len(workers)
        time.sleep(poll_s)

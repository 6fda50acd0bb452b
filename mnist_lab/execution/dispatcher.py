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
from dataclasses import dataclass, field

from mnist_lab.execution.fair_queue import (
    QueuePlace,
    fair_order,
    queue_places,
    runs_per_student,
    runs_to_start,
    teacher_order,
)
from mnist_lab.execution.queue_entry import (
    EXECUTORS,
    LOCAL,
    mark_started,
    queue_entry,
    worker_alive,
)
from mnist_lab.execution.slots import MAX_PARALLEL_ENV
from mnist_lab.files import DamagedRunError, now_iso
from mnist_lab.processes import process_alive, process_start_time, start_detached
from mnist_lab.runs import LOG_FILE, RUNS_DIR_ENV, Run, RunStore
from mnist_lab.status import DAMAGED, LIVE_STATES, QUEUED
from mnist_lab.status import check as check_status
from mnist_lab.timing import expected_for_config

LOCK_FILE = ".dispatcher.lock"
DISPATCHER_LOG = ".dispatcher.log"


@dataclass(frozen=True)
class ExecutorQueue:
    """One executor's queue as its files say now.

    Attributes
    ----------
    waiting : list of (Run, int)
        Live runs waiting for a worker, oldest first, each with its ``parallel``: never
        started, or started by a worker that died before it began to train.
    training : list of Run
        Runs whose worker lives and has not ended them.
    last_served : dict
        Each owner's latest start of a run (ISO time): the fair queue's round robin.
    """

    waiting: list[tuple[Run, int]] = field(default_factory=list)
    training: list[Run] = field(default_factory=list)
    last_served: dict[str, str] = field(default_factory=dict)

    def start_order(self, store: RunStore) -> list[Run]:
        """The waiting runs in the order they start: `fair_queue.fair_order`, for every caller."""
        return fair_order(
            [run for run, _ in self.waiting],
            teacher_order(store),
            [run.owner for run in self.training],
            self.last_served,
        )


def _queues(store: RunStore) -> dict[str, ExecutorQueue]:
    """The queue of every executor, from one pass over the runs.

    A queued run's state is read as written, not through its recorded pid: a waiting run is
    held by no process, so no death of a dispatcher can end it.
    """
    queues = {executor: ExecutorQueue() for executor in EXECUTORS}
    for run in reversed(store.list()):
        entry = queue_entry(run)
        if entry is None:
            continue
        queue = queues[entry.get("executor", LOCAL)]
        state = _state(run, entry.get("executor", LOCAL))
        if state in LIVE_STATES and (
            "worker" not in entry or (state == QUEUED and not worker_alive(entry))
        ):
            # A worker killed before it began to train leaves its run waiting, untouched.
            queue.waiting.append((run, entry["parallel"]))
            continue
        if state in LIVE_STATES and worker_alive(entry):
            queue.training.append(run)
        owner = run.owner
        if "started" in entry and owner is not None:
            queue.last_served[owner] = max(queue.last_served.get(owner, ""), entry["started"])
    return queues


def _state(run: Run, executor: str) -> str:
    """``run``'s state as its queue sees it (`DAMAGED` if its status cannot be read).

    A local run's is read as written: no process holds it while it waits, so no dead
    dispatcher ends it. A Ray run's launching process holds it: dead, the run is interrupted.
    """
    if executor != LOCAL:
        return run.status()["state"]
    try:
        return check_status(run.raw_status())["state"]
    except DamagedRunError:
        return DAMAGED


def queue_state(store: RunStore, executor: str = LOCAL) -> tuple[list[tuple[Run, int]], list[Run]]:
    """``executor``'s waiting runs, oldest first, each with its ``parallel``; and its runs training.

    A run counts as training while the worker started for it lives and its status is live;
    a waiting run is a live queued run whose worker was not started, or died before training.
    """
    queue = _queues(store)[executor]
    return queue.waiting, queue.training


def current_queue(store: RunStore) -> list[QueuePlace]:
    """Every waiting run with its position and expected start, next to start first.

    The positions are the order `admit` starts them in (`ExecutorQueue.start_order`). A lab
    trains either here or on a Ray cluster: the queue shown is the one with waiting runs, the
    local one first. Expected durations come from each run's status (the Train page records
    one at launch) or, failing that, from `timing.expected_for_config`. The pages read the
    queue through this, so a page visit also restarts a dispatcher that was killed while local
    runs wait (`resume_queue`).
    """
    queues = _queues(store)
    if queues[LOCAL].waiting:
        # Reading the queue keeps it moving: a killed dispatcher's runs still wait.
        ensure_dispatcher(store)
    for executor in EXECUTORS:
        queue = queues[executor]
        if queue.waiting:
            break
    else:
        return []
    throughputs: dict = {}

    def duration(run: Run) -> float | None:
        recorded = run.status().get("expected_training_s")
        if isinstance(recorded, int | float):
            return float(recorded)
        estimate = expected_for_config(store, run.config(), throughputs)
        return None if estimate is None else estimate.seconds

    slots = max(parallel for _, parallel in queue.waiting)
    return queue_places(
        queue.start_order(store), queue.training, slots, runs_per_student(), duration
    )


def _try_lock(store: RunStore):
    """The dispatcher lock's open handle if this process got it, else None."""
    store.root.mkdir(parents=True, exist_ok=True)
    handle = open(store.root / LOCK_FILE, "a+")
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


def dispatcher_pid(store: RunStore) -> int | None:
    """The pid of the dispatcher that holds this store's lock; None if none does."""
    if not dispatcher_running(store):
        return None
    words = (store.root / LOCK_FILE).read_text().split()
    pid = int(words[0]) if len(words) == 2 and words[0].isdigit() else None
    return pid if process_alive(pid, words[1]) else None


def ensure_dispatcher(store: RunStore) -> int | None:
    """Start a detached dispatcher unless one runs; return its pid (None if one ran).

    Called after the run is enqueued: a dispatcher about to exit re-reads the queue after
    releasing its lock, so a run enqueued meanwhile is never left waiting alone.
    """
    if dispatcher_running(store):
        return None
    env = {RUNS_DIR_ENV: str(store.root)}
    return start_detached(["dispatch"], store.root / DISPATCHER_LOG, env)


def resume_queue(store: RunStore) -> int | None:
    """Start a dispatcher if local runs wait and none runs (one was killed); return its pid.

    The runs wait in their files whatever happened to a dispatcher: a launch, a page that
    shows the queue (`current_queue`) or ``python -m mnist_lab runs`` starts them again.
    """
    return ensure_dispatcher(store) if queue_state(store)[0] else None


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
    return _admit(store, _queues(store)[executor], slots)


def _admit(
    store: RunStore, queue: ExecutorQueue, slots: int | None
) -> tuple[list[tuple[Run, int]], list[Run]]:
    """`admit` over a queue already read."""
    parallel_of = {run.id: slots or parallel for run, parallel in queue.waiting}
    owners = [run.owner for run in queue.training]
    ordered = []
    for run in queue.start_order(store):
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


def _hold_lock(store: RunStore):
    """`_try_lock`, writing this process into the lock file (for `dispatcher_pid`)."""
    lock = _try_lock(store)
    if lock is not None:
        pid = os.getpid()
        lock.truncate(0)
        lock.write(f"{pid} {process_start_time(pid)}\n")
        lock.flush()
    return lock


def run_dispatcher(store: RunStore, poll_s: float = 0.3) -> int:
    """Start queued runs' workers in `fair_order` as slots free up; return how many.

    Exits at once if another dispatcher holds the lock, and once nothing waits and the
    local runs training have ended. It writes nothing into a waiting run's status: killed at
    any moment, it leaves the queue as it was, and the next dispatcher takes it over.
    """
    lock = _hold_lock(store)
    if lock is None:
        return 0
    started = 0
    while True:
        queue = _queues(store)[LOCAL]
        starts, left = _admit(store, queue, None)
        for run, parallel in starts:
            start_worker(run, parallel)
        started += len(starts)
        # It stays while any local run trains (a worker killed before training puts its run
        # back in the queue), and outlives its own workers, so they never linger <defunct>.
        if not starts and not left and not queue.training:
            lock.close()
            # A launch may have enqueued a run while it saw the lock still held.
            if not queue_state(store)[0] or (lock := _hold_lock(store)) is None:
                return started
        time.sleep(poll_s)

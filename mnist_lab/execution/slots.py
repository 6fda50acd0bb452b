"""Training slots on this machine: at most ``$MNIST_LAB_MAX_PARALLEL`` runs train at once.

A slot is a ``flock`` on a file under ``<runs>/.slots``, so a worker that dies frees its slot
at once and no bookkeeping can go stale. Workers already started take the free slots first in,
first out; which waiting run gets a worker at all is the dispatcher's business
(`mnist_lab.execution.dispatcher`, in the order `mnist_lab.execution.fair_queue` sets).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator

from mnist_lab.execution.queue_entry import queue_entry, worker_alive
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import Run, RunStore
from mnist_lab.status import QUEUED

MAX_PARALLEL_ENV = "MNIST_LAB_MAX_PARALLEL"
SLOTS_DIR = ".slots"


def max_parallel() -> int:
    """How many runs may train at once: ``$MNIST_LAB_MAX_PARALLEL``, default 1.

    Raises
    ------
    ValueError
        If the variable is not a whole number >= 1.
    """
    value = os.environ.get(MAX_PARALLEL_ENV, "1")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_PARALLEL_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)


def first_in_queue(store: RunStore, run: Run) -> bool:
    """Whether no older started worker still waits for a slot, so ``run`` may take the next.

    Workers wait for a slot in the order their runs were created; runs still in the
    dispatcher's queue are its business (`fair_queue`), and a worker that died no longer
    holds the line (its run waits in the dispatcher's queue again).
    """
    return not any(other.id < run.id and _waits_for_slot(other) for other in store.list())


def _waits_for_slot(run: Run) -> bool:
    """Whether ``run``'s started worker lives and has not begun to train."""
    entry = queue_entry(run)
    if entry is None or "worker" not in entry or not worker_alive(entry):
        return False
    try:
        return run.raw_status().get("state") == QUEUED
    except DamagedRunError:
        return False


@contextlib.contextmanager
def training_slot(
    store: RunStore,
    wait: float = 0.5,
    should_give_up: Callable[[], bool] = lambda: False,
    may_start: Callable[[], bool] = lambda: True,
) -> Iterator[bool]:
    """Hold one of `max_parallel` training slots for the duration of the ``with`` block.

    Parameters
    ----------
    store : RunStore
        The runs that share the slots (under ``<root>/.slots``).
    wait : float, default 0.5
        Seconds between tries while all slots are taken.
    should_give_up : callable, optional
        Called between tries; when it returns True the block runs without a slot and
        the context yields False (e.g. the run was stopped while queued).
    may_start : callable, optional
        Called before each try; a slot is only taken while it returns True (e.g. once
        no older run is waiting, see `first_in_queue`).

    Yields
    ------
    bool
        True once a slot is held, False if ``should_give_up`` ended the wait.
    """
    slots_dir = store.root / SLOTS_DIR
    slots_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for index in range(max_parallel() if may_start() else 0):
            handle = open(slots_dir / f"slot-{index}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if should_give_up():
            yield False
            return
        time.sleep(wait)

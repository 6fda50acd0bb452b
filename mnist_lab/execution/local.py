"""The local executor: each run trains in a detached worker process on this machine.

Runs queue for `LocalExecutor.max_parallel` training slots (`mnist_lab.execution.dispatcher`
starts each worker when a slot frees, in the order `mnist_lab.execution.fair_queue` sets); a
slot is a ``flock`` on a file under ``<runs>/.slots``, so a worker that dies frees its slot at
once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from mnist_lab.execution.dispatcher import enqueue, ensure_dispatcher, waits_for_dispatcher
from mnist_lab.execution.executor import Executor
from mnist_lab.execution.fair_queue import runs_per_student
from mnist_lab.runs import Run, RunStore

MAX_PARALLEL_ENV = "MNIST_LAB_MAX_PARALLEL"


class LocalExecutor(Executor):
    """Launches and queues the runs of one run store on this machine.

    Parameters
    ----------
    store : RunStore
        Where the runs live; their workers see the same directory.
    parallel : int, optional
        Training slots for the runs it launches (a sweep's ``--parallel``); by default
        ``$MNIST_LAB_MAX_PARALLEL``.

    Raises
    ------
    ValueError
        If ``$MNIST_LAB_RUNS_PER_STUDENT`` is not a whole number >= 0.
    """

    where = "this machine"

    def __init__(self, store: RunStore, parallel: int | None = None):
        # A bad setting is refused before any run is created, not in the detached dispatcher.
        runs_per_student()
        self.store = store
        self.parallel = parallel

    def launch(self, run: Run) -> int | None:
        """Queue ``run`` and make sure the dispatcher will start its worker; return at once.

        No process waits for the run: the store's one dispatcher (`dispatcher.run_dispatcher`)
        starts its worker when a slot frees. Worker and dispatcher outlive page switches,
        browser refreshes and a restart of the Streamlit server (see `start_detached`).

        Returns
        -------
        int or None
            The pid of the dispatcher this launch started, None if one was running.
        """
        enqueue(run, self.parallel or self.max_parallel())
        return ensure_dispatcher(self.store)

    def max_parallel(self) -> int:
        """How many runs may train at once: ``$MNIST_LAB_MAX_PARALLEL``, default 1."""
        value = os.environ.get(MAX_PARALLEL_ENV, "1")
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{MAX_PARALLEL_ENV} must be a whole number >= 1, got {value!r}")
        return int(value)

    def first_in_queue(self, run: Run) -> bool:
        """Whether no older started worker still waits for a slot, so ``run`` may take the next.

        Workers wait for a slot in the order their runs were created; runs still in the
        dispatcher's queue are its business (`fair_queue`), and a queued run whose worker
        died reads as interrupted and no longer holds the line.
        """
        return not any(
            other.id < run.id
            and other.status()["state"] == "queued"
            and not waits_for_dispatcher(other)
            for other in self.store.list()
        )

    @contextlib.contextmanager
    def training_slot(
        self, wait: float = 0.5, should_give_up=lambda: False, may_start=lambda: True
    ) -> Iterator[bool]:
        """Hold one of `max_parallel` training slots for the duration of the ``with`` block.

        Slots are ``flock`` locks on files in ``<root>/.slots``, so a worker that dies frees
        its slot at once and no bookkeeping can go stale.

        Parameters
        ----------
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
        import fcntl

        slots_dir = self.store.root / ".slots"
        slots_dir.mkdir(parents=True, exist_ok=True)
        while True:
            for index in range(self.max_parallel() if may_start() else 0):
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

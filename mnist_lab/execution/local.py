"""The local executor: each run trains in a detached worker process on this machine.

A launch puts the run in the local queue (`mnist_lab.execution.queue_entry`); the store's one
dispatcher (`mnist_lab.execution.dispatcher`) starts its worker when a training slot
(`mnist_lab.execution.slots`) frees, in the order `mnist_lab.execution.fair_queue` sets.
"""

from __future__ import annotations

from mnist_lab.execution.dispatcher import ensure_dispatcher
from mnist_lab.execution.executor import Executor
from mnist_lab.execution.fair_queue import runs_per_student
from mnist_lab.execution.queue_entry import enqueue
from mnist_lab.execution.slots import max_parallel
from mnist_lab.runs import Run, RunStore


class LocalExecutor(Executor):
    """Launches and queues the runs of one run store on this machine.

    Parameters
    ----------
    store : RunStore
        Where the runs live; their workers see the same directory.
    parallel : int, optional
        Training slots for the runs it launches (a sweep's ``--parallel``); by default
        ``$MNIST_LAB_MAX_PARALLEL`` (`mnist_lab.execution.slots.max_parallel`).

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
        enqueue(run, self.parallel or max_parallel())
        return ensure_dispatcher(self.store)

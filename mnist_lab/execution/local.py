"""The local executor: each run trains in a detached worker process on this machine.

Runs queue first in first out for `LocalExecutor.max_parallel` training slots; a slot is a
``flock`` on a file under ``<runs>/.slots``, so a worker that dies frees its slot at once.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from mnist_lab.runs import LOG_FILE, RUNS_DIR_ENV, Run, RunStore

MAX_PARALLEL_ENV = "MNIST_LAB_MAX_PARALLEL"


class LocalExecutor:
    """Launches and queues the runs of one run store on this machine.

    Parameters
    ----------
    store : RunStore
        Where the runs live; their workers see the same directory.
    """

    def __init__(self, store: RunStore):
        self.store = store

    def launch(self, run: Run) -> int:
        """Start a detached worker for ``run`` and return its pid.

        The worker runs in its own session, so it outlives page switches, browser refreshes
        and a restart of the Streamlit server; its output goes to ``worker.log``. A daemon
        thread waits for it, so a worker that ends is reaped at once instead of lingering as
        a ``<defunct>`` child of a long-lived launcher (the Streamlit server).
        """
        log = open(run.file(LOG_FILE), "ab")
        env = dict(os.environ, **{RUNS_DIR_ENV: str(self.store.root), "PYTHONUNBUFFERED": "1"})
        # Keeps TensorFlow's C++ start-up chatter out of worker.log unless asked for.
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        project_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
        with log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mnist_lab", "worker", "--run-dir", str(run.path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        # A thread, not a SIGCHLD handler: a handler would steal the exit status of every
        # other subprocess the server waits for.
        threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
        return process.pid

    def max_parallel(self) -> int:
        """How many runs may train at once: ``$MNIST_LAB_MAX_PARALLEL``, default 1."""
        value = os.environ.get(MAX_PARALLEL_ENV, "1")
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{MAX_PARALLEL_ENV} must be a whole number >= 1, got {value!r}")
        return int(value)

    def first_in_queue(self, run: Run) -> bool:
        """Whether no older run is still waiting for a slot, so ``run`` may take the next one.

        Queued runs start in the order they were created; a queued run whose worker died
        reads as interrupted and no longer holds the line.
        """
        return not any(
            other.id < run.id and other.status()["state"] == "queued" for other in self.store.list()
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

"""A run's place in the queue: ``runs/<id>/dispatch.json``, written and read here only.

::

    {"parallel": K, "queued": TIME, "executor": "local"}   waiting: it may start while
                                                           fewer than K runs train
    {"parallel": K, "worker": PID, "executor": "local"}    started: PID trains it

``executor`` says who starts a waiting run: the local dispatcher
(`mnist_lab.execution.dispatcher`), or for ``"ray"`` the process that launched it
(`mnist_lab.execution.ray_cluster`).
"""

from __future__ import annotations

from mnist_lab.files import DamagedRunError, atomic_write_json, now_iso, read_json
from mnist_lab.runs import Run

DISPATCH_FILE = "dispatch.json"
# Who starts a queued run: the local dispatcher, or the launching process for a Ray cluster.
LOCAL, RAY = "local", "ray"
EXECUTORS = (LOCAL, RAY)


def enqueue(run: Run, parallel: int, executor: str = LOCAL) -> None:
    """Put ``run`` in ``executor``'s queue: it may start while fewer than ``parallel`` train."""
    atomic_write_json(
        run.file(DISPATCH_FILE), {"parallel": parallel, "queued": now_iso(), "executor": executor}
    )


def mark_started(run: Run, parallel: int, worker: int, executor: str) -> None:
    """Record that process ``worker`` now trains ``run``, which left ``executor``'s queue."""
    atomic_write_json(
        run.file(DISPATCH_FILE), {"parallel": parallel, "worker": worker, "executor": executor}
    )


def queue_entry(run: Run) -> dict | None:
    """``run``'s ``dispatch.json``; None if it was never queued or the file is unreadable."""
    try:
        return read_json(run.file(DISPATCH_FILE))
    except DamagedRunError:
        return None


def waits_for_dispatcher(run: Run) -> bool:
    """Whether ``run`` is in the dispatcher's queue and its worker was not started yet."""
    entry = queue_entry(run)
    return entry is not None and "worker" not in entry

"""A run's place in the queue: ``runs/<id>/dispatch.json``, written and read here only.

::

    {"parallel": K, "queued": TIME, "executor": "local"}     waiting: it may start while
                                                             fewer than K runs train
    {"parallel": K, "worker": PID, "worker_start": T,        started: process PID (started
     "started": TIME, "executor": "local"}                   at kernel time T) trains it

``executor`` says who starts a waiting run: the local dispatcher
(`mnist_lab.execution.dispatcher`), or for ``"ray"`` the process that launched it
(`mnist_lab.execution.ray_cluster`). A local run waits in these files, held by no process:
its ``status.json`` says so (`mnist_lab.runs.WAITS_IN_QUEUE`), so it reads as queued whatever
becomes of a dispatcher, until a worker takes it. ``started`` says when each student was last
served (`mnist_lab.execution.fair_queue`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from mnist_lab.files import DamagedRunError, atomic_write_json, now_iso, read_json
from mnist_lab.processes import process_alive, process_start_time
from mnist_lab.runs import WAITS_IN_QUEUE, Run
from mnist_lab.status import QUEUED

DISPATCH_FILE = "dispatch.json"
# Who starts a queued run: the local dispatcher, or the launching process for a Ray cluster.
LOCAL, RAY = "local", "ray"
EXECUTORS = (LOCAL, RAY)


def enqueue(run: Run, parallel: int, executor: str = LOCAL) -> None:
    """Put ``run`` in ``executor``'s queue: it may start while fewer than ``parallel`` train."""
    atomic_write_json(
        run.file(DISPATCH_FILE), {"parallel": parallel, "queued": now_iso(), "executor": executor}
    )
    if executor == LOCAL:
        # After the entry: a status saying it waits always has an entry a dispatcher starts.
        run.update_status(when={QUEUED}, **{WAITS_IN_QUEUE: True})


def mark_started(run: Run, parallel: int, worker: int, executor: str) -> None:
    """Record that process ``worker`` now trains ``run``, which left ``executor``'s queue."""
    atomic_write_json(
        run.file(DISPATCH_FILE),
        {
            "parallel": parallel,
            "worker": worker,
            "worker_start": process_start_time(worker),
            # To the microsecond: it orders the students' turns (`fair_queue.fair_order`).
            "started": datetime.now(UTC).isoformat(timespec="microseconds"),
            "executor": executor,
        },
    )


def queue_entry(run: Run) -> dict | None:
    """``run``'s ``dispatch.json``; None if it was never queued, or its fields are damaged."""
    try:
        entry = read_json(run.file(DISPATCH_FILE))
    except DamagedRunError:
        return None
    if not isinstance(entry, dict) or entry.get("executor", LOCAL) not in EXECUTORS:
        return None
    if not _whole(entry.get("parallel"), 1) or not _whole(entry.get("worker", 1), 1):
        return None
    if not all(isinstance(entry.get(key), str | None) for key in ("worker_start", "started")):
        return None
    return entry


def _whole(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def worker_alive(entry: dict) -> bool:
    """Whether the process that `mark_started` recorded in ``entry`` still runs."""
    return process_alive(entry["worker"], entry.get("worker_start"))

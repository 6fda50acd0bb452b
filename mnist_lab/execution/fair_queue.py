"""The fair queue: which waiting run starts next when a class shares one machine.

A policy of the local dispatcher (`mnist_lab.execution.dispatcher`), not a second queue:

- a student trains at most `runs_per_student` runs at once (``$MNIST_LAB_RUNS_PER_STUDENT``,
  default 1, 0 for no limit); their other runs wait while other students' runs start;
- waiting runs start in the order the teacher set (``<runs>/.queue_order.json``,
  ``{"order": [run ids]}``), then round robin by student: the next run is the next one of the
  student served least recently (a run training now counts as being served now; the last start
  of each student's runs is in their ``dispatch.json``), each student's in launch order.
  `fair_order` decides this order for the dispatcher and for the pages that show the queue.

Runs that record no owner (one person on a laptop, no teacher key) are never limited, and
without a teacher's order they start first in, first out as before.
"""

from __future__ import annotations

import heapq
import os
from collections import Counter
from dataclasses import dataclass

from mnist_lab.files import DamagedRunError, atomic_write_json, read_json
from mnist_lab.runs import Run, RunStore

RUNS_PER_STUDENT_ENV = "MNIST_LAB_RUNS_PER_STUDENT"
ORDER_FILE = ".queue_order.json"
# A teacher's order beyond this many runs is a mistake, not a queue.
MAX_ORDERED = 1000


def runs_per_student() -> int:
    """How many runs one student may train at once: ``$MNIST_LAB_RUNS_PER_STUDENT`` (0: any).

    Raises
    ------
    ValueError
        If the variable is not a whole number >= 0.
    """
    value = os.environ.get(RUNS_PER_STUDENT_ENV, "1").strip()
    if not value.isdigit():
        raise ValueError(f"{RUNS_PER_STUDENT_ENV} must be a whole number >= 0, got {value!r}")
    return int(value)


def teacher_order(store: RunStore) -> list[str]:
    """The run ids the teacher put first, in their order; [] if none or the file is damaged."""
    try:
        order = read_json(store.root / ORDER_FILE)
    except DamagedRunError:
        return []
    order = order.get("order")
    if not isinstance(order, list):
        return []
    return [run_id for run_id in order[:MAX_ORDERED] if isinstance(run_id, str)]


def fair_order(
    waiting: list[Run],
    ordered: list[str],
    training_owners: list = (),
    last_served: dict[str, str] | None = None,
) -> list[Run]:
    """``waiting`` (oldest first) in the order they start: the one order the dispatcher follows
    and the pages show.

    Parameters
    ----------
    waiting : list of Run
        The runs waiting for a worker, in launch order.
    ordered : list of str
        `teacher_order`: these go first, in this order.
    training_owners : list, optional
        The owner of each run training now: each of them is being served now.
    last_served : dict, optional
        When each owner's latest run started (ISO time), training or ended.

    Returns
    -------
    list of Run
        The teacher's runs, then the others round robin by owner: the next run is always
        the next one of the owner served least recently (never served first, then by when
        their last run started, then those training now), each owner's in launch order,
        ties in launch order. So a student's thirtieth run waits behind a classmate's first
        on one slot as on many.
    """
    rank = {run_id: index for index, run_id in enumerate(ordered)}
    order = sorted((run for run in waiting if run.id in rank), key=lambda run: rank[run.id])
    served = {owner: (1, time) for owner, time in (last_served or {}).items()}
    served.update({owner: (2, "") for owner in training_owners if owner is not None})
    for picks, run in enumerate(order):
        if run.owner is not None:
            served[run.owner] = (3, picks)
    # An ownerless run is its own student, never served: ownerless runs keep first in, first out.
    runs_of: dict[str, list[tuple[int, Run]]] = {}
    for index, run in enumerate(waiting):
        if run.id not in rank:
            runs_of.setdefault(run.owner or f"\0{index}", []).append((index, run))
    turns = [(served.get(owner, (0, "")), runs[0][0], owner) for owner, runs in runs_of.items()]
    heapq.heapify(turns)
    taken = dict.fromkeys(runs_of, 0)
    while turns:
        _, _, owner = heapq.heappop(turns)
        order.append(runs_of[owner][taken[owner]][1])
        taken[owner] += 1
        if taken[owner] < len(runs_of[owner]):
            key = (3, len(order))
            heapq.heappush(turns, (key, runs_of[owner][taken[owner]][0], owner))
    return order


def runs_to_start(
    ordered: list[Run], parallel_of: dict[str, int], training_owners: list, limit: int
) -> list[Run]:
    """Which waiting runs start now.

    Parameters
    ----------
    ordered : list of Run
        The waiting runs in `fair_order`.
    parallel_of : dict
        Each waiting run's id: how many runs may train at once while it starts.
    training_owners : list
        The owner (or None) of each run training now.
    limit : int
        `runs_per_student`.

    Returns
    -------
    list of Run
        In order: nobody overtakes the next run for a slot, but a student at their limit
        does not hold up the others.
    """
    busy, per_owner, starts = len(training_owners), Counter(training_owners), []
    for run in ordered:
        if busy >= parallel_of[run.id]:
            break
        if run.owner is None or limit == 0 or per_owner[run.owner] < limit:
            starts.append(run)
            busy += 1
            per_owner[run.owner] += 1
    return starts


def move_in_queue(store: RunStore, waiting: list[Run], run_id: str, to: int) -> None:
    """Put ``run_id`` at position ``to`` (0 = next) of the waiting runs, as the teacher's order.

    Parameters
    ----------
    store : RunStore
    waiting : list of Run
        The waiting runs in their current `fair_order`.
    run_id : str
        One of them.
    to : int
        Its new position, clipped to the queue.

    Raises
    ------
    KeyError
        If ``run_id`` is not waiting (it started or was stopped meanwhile).
    """
    ids = [run.id for run in waiting]
    if run_id not in ids:
        raise KeyError(f"run {run_id} is no longer waiting in the queue")
    ids.remove(run_id)
    ids.insert(max(0, min(to, len(ids))), run_id)
    # The whole current order is written: runs launched later queue behind it.
    atomic_write_json(store.root / ORDER_FILE, {"order": ids[:MAX_ORDERED]})


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting run stands.

    Attributes
    ----------
    run : Run
    position : int
        1 for the next run to start.
    starts_in_s : float or None
        Expected seconds until it starts; None when a run ahead has no estimate.
    """

    run: Run
    position: int
    starts_in_s: float | None


def queue_places(
    ordered: list[Run], training: list[Run], slots: int, limit: int, duration
) -> list[QueuePlace]:
    """Each waiting run's position and expected start, simulating the queue forward.

    Parameters
    ----------
    ordered : list of Run
        The waiting runs in `fair_order`.
    training : list of Run
        The runs training now.
    slots : int
        How many runs train at once.
    limit : int
        `runs_per_student`.
    duration : callable
        ``duration(run)``: expected seconds of a waiting run's training, or None.

    Returns
    -------
    list of QueuePlace
    """
    ends = [_remaining_s(run) for run in training]
    owners = {id(run): run.owner for run in training}
    by_owner: dict[str, list[float | None]] = {}
    for run, end in zip(training, ends, strict=True):
        if owners[id(run)] is not None:
            by_owner.setdefault(owners[id(run)], []).append(end)
    free = sorted(ends, key=_unknown_last)[: max(slots, 1)]
    free += [0.0] * (max(slots, 1) - len(free))
    places = []
    for position, run in enumerate(ordered, start=1):
        slot = min(range(len(free)), key=lambda index: _unknown_last(free[index]))
        start = free[slot]
        owned = by_owner.get(run.owner, []) if run.owner is not None and limit else []
        if len(owned) >= limit > 0:
            start = _later(start, sorted(owned, key=_unknown_last)[len(owned) - limit])
        seconds = duration(run)
        end = None if start is None or seconds is None else start + seconds
        free[slot] = end
        if run.owner is not None:
            by_owner.setdefault(run.owner, []).append(end)
        places.append(QueuePlace(run, position, start))
    return places


def _remaining_s(run: Run) -> float | None:
    """Seconds a training run has left, from its status's ETA; None when unknown."""
    eta = run.status().get("eta_s")
    return float(eta) if isinstance(eta, int | float) and eta >= 0 else None


def _unknown_last(seconds: float | None) -> float:
    return float("inf") if seconds is None else seconds


def _later(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else max(first, second)

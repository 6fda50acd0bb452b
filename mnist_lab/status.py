"""``status.json``, a run's state and progress: its one owner, readers and writers alike.

Several processes write one run's status: the launcher (queued), the dispatcher (who holds
a waiting run, a run stopped while it waits), the worker and its engine (running, progress,
stopping, the outcome), the Ray mirror (what a remote node streams) and the Train page (the
expected time). Every write goes through `update`, which

- merges the new fields under a lock on the run directory, so two writers never lose each
  other's fields (each used to read, merge and write back on its own);
- allows only the state changes in `TRANSITIONS`: nothing goes back to waiting once it has
  run, and an ended run stays ended;
- can apply only while the run is in given states (``when``), so a stale writer (a dispatcher
  that still thinks the run waits) cannot overwrite a newer state.

``damaged`` is never written: it is what reading a broken run directory reports.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

from mnist_lab.files import (
    DamagedRunError,
    atomic_write_json,
    is_aware_time,
    locked_directory,
    now_iso,
    read_json,
)

STATUS_FILE = "status.json"
# A status holds a state, a message and progress: a few hundred bytes.
MAX_STATUS_BYTES = 64 * 2**10

QUEUED, RUNNING, STOPPING = "queued", "running", "stopping"
FINAL_STATES = frozenset({"finished", "stopped", "diverged", "failed", "interrupted"})
STATES = (QUEUED, RUNNING, STOPPING, "finished", "stopped", "diverged", "failed", "interrupted")
LIVE_STATES = frozenset({QUEUED, RUNNING, STOPPING})
DAMAGED = "damaged"

# Which state may follow which. A queued run may jump to any state: a Ray mirror can first
# see a short trial when it has already ended, and a waiting run can be stopped or fail.
# A run with no readable status yet (None) takes any first state.
TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset(STATES),
    QUEUED: frozenset(STATES),
    RUNNING: frozenset({RUNNING, STOPPING}) | FINAL_STATES,
    STOPPING: frozenset({STOPPING}) | FINAL_STATES,
    **{state: frozenset({state}) for state in FINAL_STATES},
}

# Fields that pages do arithmetic with (null when not known yet).
NUMERIC_FIELDS = (
    "progress",
    "eta_s",
    "samples_per_s",
    "epoch",
    "epochs",
    "step",
    "expected_training_s",
)
# Fields shown as text, and the times (ISO 8601 with a time zone) pages compute with.
TEXT_FIELDS = ("message", "position", "hint", "node", "pid_start", "stage")
TIME_FIELDS = ("updated", "started", "ended")
# Linux's largest pid (PID_MAX_LIMIT).
MAX_PID = 2**22


class TransitionError(ValueError):
    """A write that would move a run to a state that may not follow its current one."""


def check(status: dict) -> dict:
    """Return ``status`` (as read from ``status.json``) if every field has its type and form.

    Raises
    ------
    DamagedRunError
        Naming the field: an unknown state, text fields that are not text, progress fields
        that are not finite numbers (``progress`` must lie in [0, 1]), a ``pid`` that is not
        a process number, or a time that is not ISO 8601 with a time zone.
    """
    if status.get("state") not in STATES:
        raise DamagedRunError(f"{STATUS_FILE} names an unknown state {_shown(status.get('state'))}")
    for key in TEXT_FIELDS:
        if status.get(key) is not None and not isinstance(status[key], str):
            raise DamagedRunError(f"{STATUS_FILE}'s {key} is not text")
    for key in NUMERIC_FIELDS:
        value = status.get(key)
        if value is not None and not _is_finite_number(value):
            raise DamagedRunError(f"{STATUS_FILE}'s {key} is not a number ({_shown(value)})")
    if not 0 <= (status.get("progress") or 0) <= 1:
        raise DamagedRunError(f"{STATUS_FILE}'s progress {status['progress']!r} is not in [0, 1]")
    pid = status.get("pid")
    if pid is not None and not (
        isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid <= MAX_PID
    ):
        raise DamagedRunError(f"{STATUS_FILE}'s pid is not a process number ({_shown(pid)})")
    for key in TIME_FIELDS:
        if status.get(key) is not None and not is_aware_time(status[key]):
            raise DamagedRunError(
                f"{STATUS_FILE}'s {key} is not a time with a time zone ({_shown(status[key])})"
            )
    return status


def _shown(value: Any) -> str:
    """A field's value for a message, cut short (a damaged file may hold anything)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_finite_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, float) or abs(value) <= 2**53)
        and math.isfinite(value)
    )


def read(run_dir: Path) -> dict:
    """``status.json`` of the run in ``run_dir`` exactly as last written (see `check`).

    Raises
    ------
    DamagedRunError
        If it is missing, not a regular file, larger than `MAX_STATUS_BYTES` or not a JSON
        object.
    """
    return read_json(Path(run_dir) / STATUS_FILE, MAX_STATUS_BYTES)


def check_transition(current: str | None, new: str) -> None:
    """Raise `TransitionError` unless a run in state ``current`` may move to ``new``.

    Examples
    --------
    >>> check_transition("running", "finished")
    >>> check_transition("finished", "running")
    Traceback (most recent call last):
    ...
    mnist_lab.status.TransitionError: a finished run cannot become running
    """
    if new not in STATES:
        raise ValueError(f"state must be one of {STATES}, got {new!r}")
    if new not in TRANSITIONS.get(current, frozenset()):
        raise TransitionError(f"a {current or 'new'} run cannot become {new}")


def update(run_dir: Path, fields: dict, when: Collection[str] | None = None) -> dict | None:
    """Merge ``fields`` into the run's ``status.json`` atomically, under the run's lock.

    Parameters
    ----------
    run_dir : Path
        The run's directory.
    fields : dict
        The fields to set; a ``state`` must be allowed after the current one (`TRANSITIONS`).
    when : collection of str, optional
        Write only if the current state is one of these; otherwise leave the file alone.

    Returns
    -------
    dict or None
        The new status, or None when ``when`` did not hold.

    Raises
    ------
    TransitionError
        If ``fields["state"]`` may not follow the current state.
    """
    run_dir = Path(run_dir)
    with locked_directory(run_dir):
        try:
            status = read(run_dir)
        except DamagedRunError:
            status = {}
        current = status.get("state")
        if when is not None and current not in when:
            return None
        if "state" in fields:
            check_transition(current if current in STATES else None, fields["state"])
        status.update(fields)
        status["updated"] = now_iso()
        atomic_write_json(run_dir / STATUS_FILE, status)
        return status

"""Whether a run's worker process is still alive (Linux ``/proc``, with a portable fallback)."""

from __future__ import annotations

import os
from pathlib import Path


def process_start_time(pid: int) -> str | None:
    """Return the kernel's start time of process ``pid`` (Linux), or None if it is gone.

    Stored with the pid so a recycled pid is never mistaken for the run's worker.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        return None
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def process_alive(pid: int | None, start_time: str | None = None) -> bool:
    """Whether process ``pid`` exists, is not a zombie, and (if given) started at ``start_time``."""
    if not pid:
        return False
    if Path("/proc").is_dir():
        current = process_start_time(int(pid))
        return current is not None and (start_time is None or current == start_time)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

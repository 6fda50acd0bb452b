"""Whether a run's worker process is still alive (Linux ``/proc``, with a portable fallback)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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


def start_detached(
    arguments: list[str], log_path: Path, env: dict[str, str], module: str = "mnist_lab"
) -> int:
    """Start ``python -m MODULE ARGUMENTS`` in its own session and return its pid.

    It outlives its launcher (a page switch, a restart of the Streamlit server); its output
    is appended to ``log_path``. A daemon thread waits for it, so one that ends is reaped at
    once instead of lingering as a ``<defunct>`` child of a long-lived launcher.

    Parameters
    ----------
    arguments : list of str
        The subcommand and its arguments, e.g. ``["worker", "--run-dir", DIR]``.
    log_path : Path
        Where its stdout and stderr go.
    env : dict
        Variables added to this process's environment.
    module : str, default "mnist_lab"
        The module to run (``mnist_lab.map_cache`` computes a map of the digits).
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1", **env)
    # Keeps TensorFlow's C++ start-up chatter out of the log unless asked for.
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    project_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    # A thread, not a SIGCHLD handler: a handler would steal the exit status of every
    # other subprocess the launcher waits for.
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return process.pid

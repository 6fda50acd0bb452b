"""Start and stop the real dashboard server, as the README does, for browser tests and benchmarks.

Used by ``tests/browser/conftest.py``, ``tests/test_faults.py`` and
``benchmarks/bench_load.py``, so every caller starts the server the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.execution.dispatcher import dispatcher_pid
from mnist_lab.files import DamagedRunError
from mnist_lab.processes import process_alive
from mnist_lab.runs import RUNS_DIR_ENV, RunStore
from mnist_lab.status import LIVE_STATES

ROOT = Path(__file__).resolve().parents[2]
STREAMLIT = ROOT / ".venv" / "bin" / "streamlit"
ENTRYPOINT = ROOT / "dashboard" / "Home.py"
# The first start imports pandas, plotly and streamlit on a shared 2-core machine: be patient.
START_TIMEOUT_S = 90.0


@dataclass
class Server:
    """A running ``streamlit run`` process group and where to reach it."""

    process: subprocess.Popen
    url: str
    runs_dir: Path
    log_path: Path


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def start_server(runs_dir: Path, log_path: Path, extra_env: dict | None = None) -> Server:
    """Run ``streamlit run dashboard/Home.py`` on a free port and wait until it is healthy.

    Parameters
    ----------
    runs_dir : Path
        Given to the server (and the workers it launches) as ``$MNIST_LAB_RUNS_DIR``.
    log_path : Path
        Where the server's stdout and stderr go (a pipe nobody reads would fill and block it).
    extra_env : dict, optional
        More environment variables, e.g. ``MNIST_LAB_MAX_PARALLEL``.

    Returns
    -------
    Server
    """
    port = free_port()
    env = dict(os.environ, **{RUNS_DIR_ENV: str(runs_dir)}, **(extra_env or {}))
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                str(STREAMLIT),
                "run",
                str(ENTRYPOINT),
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so stopping it takes every child with it.
            start_new_session=True,
        )
    server = Server(process, f"http://localhost:{port}", Path(runs_dir), Path(log_path))
    try:
        wait_until_healthy(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_until_healthy(server: Server, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``/_stcore/health`` until it answers ``ok``; raise with the log tail if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    tail = server.log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the Streamlit server did not become healthy:\n{tail}")


def stop_server(server: Server, grace_s: float = 10.0) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after ``grace_s``."""
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(grace_s)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


def kill_workers(runs_dir: Path) -> None:
    """SIGKILL the dispatcher, then the worker of every live run under ``runs_dir``.

    Both outlive the server; the dispatcher goes first, or it would start the next run.
    """
    dispatcher = dispatcher_pid(RunStore(runs_dir))
    if dispatcher is not None:
        os.kill(dispatcher, signal.SIGKILL)
    for run in RunStore(runs_dir).list():
        try:
            status = run.raw_status()
        except DamagedRunError:
            continue
        pid = status.get("pid")
        # The recorded start time guards against killing a recycled pid.
        if status.get("state") in LIVE_STATES and process_alive(pid, status.get("pid_start")):
            os.kill(pid, signal.SIGKILL)

"""A real two-node Ray cluster on this machine, for the tests and ``benchmarks/bench_sweep.py``.

Two ``ray start --block`` processes on 127.0.0.1, a head and a worker with one CPU each, each
in its own process group, so stopping, freezing or killing a node ends exactly the processes
it started (never ``ray stop``, which ends every Ray process of the machine).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

RAY = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "ray"
START_TIMEOUT_S = 120.0
# What the nodes and `ray status` run with. No token: an auth token that a local
# ``ray.init()`` once left in ~/.ray would otherwise lock `ray status` out of this cluster.
# The head declares a node that stopped answering dead after about five seconds, not Ray's
# default of a minute, so the tests of a lost node are short.
CLUSTER_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "2000",
    "RAY_health_check_failure_threshold": "5",
}


@dataclass
class LoopbackCluster:
    """The two ``ray start`` processes and the head's address."""

    address: str
    base: Path
    head: subprocess.Popen
    worker: subprocess.Popen | None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_node(arguments: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [
                str(RAY),
                "start",
                "--block",
                "--num-cpus=1",
                "--node-ip-address=127.0.0.1",
                "--disable-usage-stats",
                *arguments,
            ],
            env={**os.environ, **CLUSTER_ENV},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def alive_nodes(address: str) -> int:
    """How many nodes ``ray status`` lists as active."""
    status = subprocess.run(
        [str(RAY), "status", "--address", address],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **CLUSTER_ENV},
    )
    active = status.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0]
    return active.count("node_") if status.returncode == 0 else 0


def start_loopback_cluster(base: Path) -> LoopbackCluster:
    """Start a head and a worker node (one CPU each) and wait until both are up."""
    base.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _start_node(
        ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={base / 'ray'}"],
        base / "head.log",
    )
    cluster = LoopbackCluster(address, base, head, None)
    try:
        _wait(lambda: alive_nodes(address) >= 1, base / "head.log")
        start_worker(cluster)
    except BaseException:
        stop_loopback_cluster(cluster)
        raise
    return cluster


def start_worker(cluster: LoopbackCluster) -> None:
    """Start the worker node (again, after one was lost) and wait until the head counts it."""
    cluster.worker = _start_node([f"--address={cluster.address}"], cluster.base / "worker.log")
    _wait(lambda: alive_nodes(cluster.address) >= 2, cluster.base / "worker.log")


def _wait(condition, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray node did not come up:\n{log_path.read_text()[-2000:]}")


def kill_node(process: subprocess.Popen) -> None:
    """SIGKILL one node's whole process group at once, as a machine that dies (or a frozen one)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def freeze_node(process: subprocess.Popen) -> None:
    """SIGSTOP one node's whole process group, as a machine that hangs: no socket is closed."""
    os.killpg(process.pid, signal.SIGSTOP)


def stop_loopback_cluster(cluster: LoopbackCluster, grace_s: float = 15.0) -> None:
    """End both nodes: SIGTERM to each group, SIGKILL what is left after ``grace_s``."""
    for process in (cluster.worker, cluster.head):
        if process is None or process.poll() is not None:
            continue
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            kill_node(process)
        except ProcessLookupError:
            pass
        # Ray's own children may outlive the ``ray start`` process: end the rest of the group.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

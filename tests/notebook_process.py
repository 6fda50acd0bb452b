"""The classic notebook script (`tests/notebook_script.py`) as a real process, and its run.

Shared by the callback tests and the browser journey that watches the script train.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mnist_lab.runs import Run, RunStore

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "notebook_script.py"
# TensorFlow's import alone takes tens of seconds on a busy shared machine.
PROCESS_TIMEOUT_S = 300


def start_script(runs_dir: Path, *arguments: str) -> subprocess.Popen:
    """``python tests/notebook_script.py ARGUMENTS`` writing to ``runs_dir``, owned by "ada"."""
    env = dict(
        os.environ,
        MNIST_LAB_RUNS_DIR=str(runs_dir),
        MNIST_LAB_USER="ada",
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def wait_for_live_run(runs_dir: Path, process: subprocess.Popen) -> Run:
    """The script's run once it has written its first batch record."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the script ended before its run was seen live"
        runs = [run for run in RunStore(runs_dir).list() if run.owner == "ada"]
        if runs and any(record["kind"] == "batch" for record in runs[0].metrics()):
            return runs[0]
        time.sleep(0.1)
    raise AssertionError("no live run appeared")

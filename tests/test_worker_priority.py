"""The training worker yields the CPU to the dashboard: it lowers its own priority."""

import subprocess
import sys
from pathlib import Path

from mnist_lab.execution.worker import WORKER_NICENESS
from mnist_lab.runs import RunStore

AUTOGROUP = Path("/proc/self/autogroup")
# A worker in a process of its own, so the test's own priority stays as it is; it prints its
# final state, its nice value, and its autogroup's nice value ("-" without autogroups, or where
# the kernel shows the file empty, as on CI's machine).
REPORT_PRIORITY = """
import os, sys
from pathlib import Path
from mnist_lab.execution.worker import run_worker
for run_dir in sys.argv[1:]:
    state = run_worker(run_dir)
group = Path("/proc/self/autogroup")
words = group.read_text().split() if group.exists() else []
print(state, os.nice(0), words[-1] if words else "-")
"""


def worker_priority(*run_dirs, detached: bool) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", REPORT_PRIORITY, *map(str, run_dirs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        start_new_session=detached,
    )
    return done.stdout.split()


def test_a_detached_worker_lowers_its_priority_and_its_sessions_once(tmp_path):
    store = RunStore(tmp_path)
    # An engine nobody knows: the worker fails at once, after taking its priority.
    first, second = (store.create({"engine": "no-such-engine"}) for _ in range(2))
    group = str(WORKER_NICENESS) if AUTOGROUP.exists() else "-"
    assert worker_priority(first.path, second.path, detached=True) == [
        "failed",
        str(WORKER_NICENESS),
        group,
    ], "twice in one process still lowers it only to WORKER_NICENESS"


def test_a_worker_inside_someone_elses_session_leaves_the_sessions_priority_alone(tmp_path):
    run = RunStore(tmp_path).create({"engine": "no-such-engine"})
    words = AUTOGROUP.read_text().split() if AUTOGROUP.exists() else []
    ours = words[-1] if words else "-"
    assert worker_priority(run.path, detached=False) == ["failed", str(WORKER_NICENESS), ours]

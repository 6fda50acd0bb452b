"""The training worker yields the CPU to the dashboard: it lowers its own priority."""

import subprocess
import sys

from mnist_lab.execution.worker import WORKER_NICENESS
from mnist_lab.runs import RunStore

# A worker in a process of its own, so the test's own priority stays as it is.
REPORT_NICENESS = """
import os, sys
from mnist_lab.execution.worker import run_worker
state = run_worker(sys.argv[1])
print(state, os.nice(0))
"""


def test_the_worker_runs_at_lower_priority_and_lowers_it_only_once(tmp_path):
    store = RunStore(tmp_path)
    # An engine nobody knows: the worker fails at once, after taking its priority.
    run = store.create({"engine": "no-such-engine"})
    done = subprocess.run(
        [sys.executable, "-c", REPORT_NICENESS, str(run.path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["failed", str(WORKER_NICENESS)]

    twice = REPORT_NICENESS.replace(
        "state = run_worker", "run_worker(sys.argv[1]); state = run_worker"
    )
    again = store.create({"engine": "no-such-engine"})
    done = subprocess.run(
        [sys.executable, "-c", twice, str(again.path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["failed", str(WORKER_NICENESS)]

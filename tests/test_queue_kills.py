"""The local queue survives real SIGKILLs and races: no queued run lost, no run trained twice.

Real dispatchers and workers on tiny NumPy runs (a few hundred digits, one epoch), killed with
real signals; every wait polls the run files with a deadline.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys

import pytest

from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.dispatcher import current_queue, dispatcher_pid, dispatcher_running
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.queue_entry import enqueue, queue_entry
from mnist_lab.execution.slots import MAX_PARALLEL_ENV, training_slot
from mnist_lab.execution.worker import CLAIM_FILE
from mnist_lab.processes import process_alive
from mnist_lab.runs import RUNS_DIR_ENV, Run, RunStore
from tests.browser.server import kill_workers
from tests.test_faults import wait_for

WAIT_S = 180
SHORT = NumpyNetSettings(subset=300, epochs=1).to_dict()
# Trains until it is asked to stop: the run the others queue behind.
LONG = NumpyNetSettings(subset=2000, epochs=100, batch_size=8).to_dict()


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A run store with one training slot, seen by the dispatchers and workers it starts."""
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(MAX_PARALLEL_ENV, "1")
    store = RunStore(tmp_path / "runs")
    yield store
    kill_workers(store.root)


def launch(store: RunStore, config: dict, owner: str | None = None) -> Run:
    """Launch a run; return once the dispatcher it started (if any) holds the lock or left.

    A launch starts a dispatcher whenever none holds the lock yet, so without this wait a
    slow-starting spare could take over after the test killed the first.
    """
    run = store.create(config, owner=owner)
    started = LocalExecutor(store).launch(run)
    if started is not None:
        wait_for(
            lambda: dispatcher_pid(store) == started or not process_alive(started),
            "the launch's dispatcher to settle",
        )
    return run


def state(run: Run) -> str:
    return run.status()["state"]


def epochs(run: Run) -> list[int]:
    return [record["epoch"] for record in run.metrics() if record.get("kind") == "epoch"]


def kill(pid: int) -> None:
    """SIGKILL ``pid`` and wait until it is gone (a child of this process is reaped for us)."""
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not process_alive(pid), f"process {pid} to end", 10)


def mnist_lab(*arguments: str, store: RunStore) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnist_lab", *arguments],
        env=dict(os.environ, **{RUNS_DIR_ENV: str(store.root)}),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def visit_page(store: RunStore) -> int | None:
    """What a page showing the queue does on each rerun; the dispatcher's pid once one runs."""
    current_queue(store)
    return dispatcher_pid(store)


def test_a_killed_dispatchers_queued_runs_wait_and_the_runs_command_starts_them(store):
    long = launch(store, LONG)
    wait_for(lambda: epochs(long), "the first run to train")
    queued = [launch(store, SHORT) for _ in range(2)]
    kill(wait_for(lambda: dispatcher_pid(store), "the dispatcher"))

    assert [state(run) for run in queued] == ["queued", "queued"], "a dead dispatcher ended them"
    long.request_stop()
    wait_for(lambda: state(long) == "stopped", "the first run to stop")
    # Nothing starts them with no dispatcher, but nothing ends them either.
    assert not dispatcher_running(store)
    assert [state(run) for run in queued] == ["queued", "queued"]

    listed = mnist_lab("runs", store=store)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count(" queued ") == 2 and "interrupted" not in listed.stdout
    for run in queued:
        wait_for(lambda run=run: state(run) == "finished", "a queued run to train")
        assert epochs(run) == [1], "trained twice"
    assert epochs(long) == list(range(1, len(epochs(long)) + 1)), "the first run trained twice"


def test_a_dispatcher_killed_before_it_started_anything_is_replaced_by_a_page_visit(store):
    # A dispatcher that never got a slot to hand out: everything still waits behind a slot.
    with training_slot(store):
        runs = [launch(store, SHORT, owner=owner) for owner in ("Ada", "Ada", "Bob")]
        workers = wait_for(lambda: queue_entry(runs[0]).get("worker"), "the first worker")
        kill(wait_for(lambda: dispatcher_pid(store), "the dispatcher"))
        kill(workers)
        # Killed before it could train: its run is waiting again, as are the others.
        assert [state(run) for run in runs] == ["queued"] * 3
        # The Class page and the Train page's queue read it through current_queue.
        assert [place.run for place in current_queue(store)] == [runs[0], runs[2], runs[1]]
        # Pages rerun every few seconds: a visit just as the killed dispatcher's lock is
        # still being released starts nothing, the next one does.
        wait_for(lambda: visit_page(store), "a page visit to start a dispatcher")
    for run in runs:
        wait_for(lambda run=run: state(run) == "finished", "every queued run to train")
        assert epochs(run) == [1]


def test_a_worker_killed_mid_training_is_interrupted_and_the_queue_goes_on(store):
    long = launch(store, LONG)
    after = launch(store, SHORT)
    wait_for(lambda: epochs(long), "the first run to train")
    kill(long.raw_status()["pid"])

    wait_for(lambda: state(after) == "finished", "the next run to train")
    assert state(long) == "interrupted" and "killed or crashed" in long.status()["message"]
    trained = epochs(long)
    assert trained == list(range(1, len(trained) + 1)), "its records were written twice"
    # Never started again: the interrupted run keeps the worker it had.
    assert long.raw_status()["state"] == "running" and epochs(after) == [1]


def test_two_workers_started_on_one_run_train_it_once(store):
    run = store.create(SHORT)
    enqueue(run, 1)
    command = [sys.executable, "-m", "mnist_lab", "worker", "--run-dir", str(run.path)]
    env = dict(os.environ, **{RUNS_DIR_ENV: str(store.root)})
    workers = [
        subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    codes = sorted(worker.wait(WAIT_S) for worker in workers)
    errors = [worker.stderr.read() for worker in workers]
    assert codes == [0, 2], errors
    refused = next(error for error in errors if error.startswith("error:"))
    assert len(refused.strip().splitlines()) == 1 and "Traceback" not in refused
    assert state(run) == "finished" and epochs(run) == [1]


def test_a_second_worker_leaves_a_claimed_run_untouched(store):
    run = store.create(SHORT)
    enqueue(run, 1)
    # This process holds the run as its worker would.
    with open(run.file(CLAIM_FILE), "a+") as claim:
        fcntl.flock(claim, fcntl.LOCK_EX)
        claim.write("4242\n")
        claim.flush()
        before = {path.name: path.read_bytes() for path in run.path.iterdir()}
        second = mnist_lab("worker", "--run-dir", str(run.path), store=store)
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"error: run {run.id} is already being trained by another worker (pid 4242); "
        "this one leaves it alone"
    )
    assert {path.name: path.read_bytes() for path in run.path.iterdir()} == before

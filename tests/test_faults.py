"""Real faults, really caused: a killed worker, a restarted server, a full queue, a full disk.

Each test trains tiny subsets in real worker processes, so it takes seconds to tens of
seconds; none of them asserts on timings (the waits below are only upper bounds).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from mnist_lab.engines.keras_net.files import CHECKPOINT_FILE, MODEL_FILE
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.slots import MAX_PARALLEL_ENV
from mnist_lab.execution.worker import describe_failure
from mnist_lab.processes import process_alive
from mnist_lab.runs import RUNS_DIR_ENV, RunStore
from tests.browser.driver import VIEWPORT, launch_training, open_app
from tests.browser.server import kill_workers, start_server, stop_server

WAIT_S = 180
ENDED = {"finished", "stopped", "failed", "diverged", "interrupted"}


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A run store in a temporary directory, also seen by the workers it launches."""
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "runs"))
    store = RunStore(tmp_path / "runs")
    yield store
    kill_workers(store.root)


def wait_for(condition, what: str, timeout_s: float = WAIT_S):
    """Poll ``condition`` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout_s:.0f} s waiting for {what}")


def epoch_records(run) -> list[dict]:
    return [record for record in run.metrics() if record.get("kind") == "epoch"]


def launch(store: RunStore, config: dict, name: str | None = None):
    run = store.create(config, name=name)
    LocalExecutor(store).launch(run)
    return run


def test_killed_worker_leaves_an_interrupted_run_with_a_usable_checkpoint(store, mnist):
    from mnist_lab.engines.keras_net.training import load_trained_model, predict_proba

    run = launch(store, KerasSettings(subset=2000, epochs=50, seed=1).to_dict())
    # Kill it mid-epoch: after its first epoch is logged and checkpointed.
    wait_for(lambda: epoch_records(run) and run.file(CHECKPOINT_FILE).exists(), "epoch 1")
    pid = run.raw_status()["pid"]
    os.kill(pid, signal.SIGKILL)
    # The worker is the dispatcher's child: it reaps it.
    wait_for(lambda: run.status()["state"] == "interrupted", "the kill to show", 10)

    status = run.status()
    assert status["state"] == "interrupted"
    assert "killed or crashed" in status["message"]
    assert run.config()["subset"] == 2000 and run.raw_status()["state"] == "running"
    assert epoch_records(run)[0]["epoch"] >= 1
    assert not run.file(MODEL_FILE).exists()

    model = load_trained_model(run)  # safe_mode=True; falls back to checkpoint.keras
    probabilities = predict_proba(run, mnist.x_test[:200], model=model)
    assert probabilities.shape == (200, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-4)
    # One epoch on 1,800 digits is far better than chance: the checkpoint holds trained weights.
    assert (probabilities.argmax(axis=1) == mnist.y_test[:200]).mean() > 0.5


@pytest.mark.browser
def test_training_survives_a_server_restart_and_the_new_server_finds_it(tmp_path, browser):
    from playwright.sync_api import expect

    runs_dir = tmp_path / "runs"
    store = RunStore(runs_dir)
    server = start_server(runs_dir, tmp_path / "server-1.log")
    try:
        page = browser.new_page(viewport=VIEWPORT)
        open_app(page, f"{server.url}/train")
        # Minutes of training at full speed: it must still be live after the restart (then stopped).
        launch_training(page, "outlives its server", subset=10_000, epochs=500)
        run = wait_for(store.list, "the launched run")[0]
        wait_for(lambda: epoch_records(run), "the first epoch")

        stop_server(server)
        status = run.raw_status()
        assert process_alive(status["pid"], status["pid_start"]), "the worker died too"
        logged = len(run.metrics())
        wait_for(lambda: len(run.metrics()) > logged, "metrics logged after the restart")

        server = start_server(runs_dir, tmp_path / "server-2.log")
        page.close()
        page = browser.new_page(viewport=VIEWPORT)
        open_app(page, f"{server.url}/train")
        # A fresh server imports every module on its first page: allow it a busy machine's time.
        expect(page.get_by_role("heading", name="outlives its server")).to_be_visible(
            timeout=WAIT_S * 1000
        )
        stop = page.get_by_role("button", name="Stop", exact=True)
        expect(stop).to_be_visible(timeout=WAIT_S * 1000)
        stop.click(timeout=WAIT_S * 1000)
        wait_for(lambda: run.status()["state"] == "stopped", "the stop to take effect")
        page.close()
    finally:
        stop_server(server)
        kill_workers(runs_dir)


def test_more_launches_than_slots_queue_and_all_finish(store, monkeypatch):
    monkeypatch.setenv(MAX_PARALLEL_ENV, "1")
    config = NumpyNetSettings(subset=3000, epochs=3).to_dict()
    runs = [launch(store, config, name=f"queued {n}") for n in range(3)]

    history = []
    while not all(run.status()["state"] in ENDED for run in runs):
        history.append([run.status()["state"] for run in runs])
        assert len(history) < WAIT_S * 10, "the queue never drained"
        time.sleep(0.1)

    assert max(states.count("running") for states in history) == 1, "a slot was shared"
    assert any("running" in s and "queued" in s for s in history), "nothing ever waited"
    left_queue = [
        next(i for i, states in enumerate(history + [["done"] * 3]) if states[n] != "queued")
        for n in range(3)
    ]
    assert left_queue == sorted(left_queue), "runs started out of launch order"
    assert [run.status()["state"] for run in runs] == ["finished"] * 3
    assert all(run.evaluation() is not None for run in runs)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs, so a run can really fill its disk; skipped where mounting is refused."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    yield disk
    kill_workers(disk / "runs")
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill_disk(path, keep: int) -> None:
    """Write a file that leaves only ``keep`` bytes free on its file system."""
    stats = os.statvfs(path.parent)
    size = max(0, stats.f_bavail * stats.f_frsize - keep)
    with open(path, "wb") as handle:
        try:
            handle.write(b"\0" * size)
        except OSError as error:
            # tmpfs counts its own block overhead: "full" is what we asked for anyway.
            assert error.errno == errno.ENOSPC


def test_a_full_disk_fails_the_run_clearly_and_spares_earlier_runs(tiny_disk, monkeypatch):
    monkeypatch.setenv(RUNS_DIR_ENV, str(tiny_disk / "runs"))
    store = RunStore(tiny_disk / "runs")
    earlier = launch(store, NumpyNetSettings(subset=500, epochs=1).to_dict(), name="earlier")
    wait_for(lambda: earlier.status()["state"] in ENDED, "the earlier run")
    assert earlier.status()["state"] == "finished"
    before = {path: path.read_bytes() for path in earlier.path.rglob("*") if path.is_file()}

    # Leave room for a run's small JSON files, not for its first checkpoint (about 1 MB).
    fill_disk(tiny_disk / "filler", keep=256 * 1024)
    run = launch(store, KerasSettings(subset=500, epochs=3).to_dict(), name="fills the disk")
    wait_for(lambda: run.status()["state"] in ENDED, "the run on the full disk")

    status = run.status()
    assert status["state"] == "failed", status
    assert status["message"] == describe_failure(OSError(errno.ENOSPC, "No space left"))
    assert "No space left on device" in run.file("worker.log").read_text()
    assert run.config()["subset"] == 500 and isinstance(run.metrics(), list)

    # With not a byte left, even status.json cannot be rewritten: the old one stays readable.
    fill_disk(tiny_disk / "filler-2", keep=0)
    with pytest.raises(OSError) as error:
        run.update_status(message="not written")
    assert error.value.errno == errno.ENOSPC
    assert run.status() == status
    after = {path: path.read_bytes() for path in earlier.path.rglob("*") if path.is_file()}
    assert after == before, "the earlier run's files changed"
    assert earlier.status()["state"] == "finished"

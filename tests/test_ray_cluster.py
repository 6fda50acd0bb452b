"""Sweeps on a real two-node Ray cluster on loopback, started and stopped by these tests.

The worker node is lost mid-trial in the last test, so it comes last in this module.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time

import pytest

from mnist_lab import records
from mnist_lab.cli.main import main
from mnist_lab.engines import get_engine
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.dispatcher import current_queue
from mnist_lab.execution.fair_queue import RUNS_PER_STUDENT_ENV
from mnist_lab.launch import executor_for
from mnist_lab.runs import RunStore
from mnist_lab.status import LIVE_STATES
from mnist_lab.sweeps.driver import run_sweep, start_sweep_driver
from mnist_lab.sweeps.results import trial_rows
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore
from tests.ray_loopback import (
    freeze_node,
    kill_node,
    start_loopback_cluster,
    start_worker,
    stop_loopback_cluster,
)
from tests.test_faults import wait_for

pytestmark = pytest.mark.slow

NUMPY = get_engine("numpy").settings_class.declared()
RUN_FILES = {
    "config.json",
    "status.json",
    "metrics.jsonl",
    "history.csv",
    "normalizer.json",
    "weights.npz",
    "evaluation.json",
    "predictions.npz",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import ray

    cluster = start_loopback_cluster(tmp_path_factory.mktemp("ray"))
    yield cluster
    ray.shutdown()
    stop_loopback_cluster(cluster)


def sweep_of(store: RunStore, cluster, base: dict, rates: str):
    """A sweep on the cluster; no ``parallel``: one trial per CPU of the cluster, two."""
    definition = SweepDefinition(
        engine="numpy",
        base=base,
        parameters=[parse_parameter(f"learning_rate={rates}", NUMPY)],
        cluster=cluster.address,
    ).validate()
    return SweepStore(store).create(definition)


# Small batches on all 60,000 digits make each epoch take a few seconds: no trial can
# finish before it is stopped, even when a loaded machine takes minutes to see a change.
LONG_TRIAL = {"subset": None, "epochs": 100, "batch_size": 4, "hidden_units": 256}


def test_a_sweep_trains_on_both_nodes_and_every_run_comes_back_whole(cluster, tmp_path):
    store = RunStore(tmp_path / "runs")
    sweep = sweep_of(store, cluster, {"subset": 3000, "epochs": 2}, "0.05,0.1,0.5,1.0")
    assert run_sweep(sweep, poll_s=0.2) == "finished"

    rows = trial_rows(sweep)
    assert [row["state"] for row in rows] == ["finished"] * 4
    assert len({row["node"] for row in rows}) == 2, "every trial trained on the same node"
    for run in sweep.runs():
        assert RUN_FILES <= {path.name for path in run.path.iterdir()}
        epochs = records.of_kind(run.metrics(), "epoch")
        assert [record["epoch"] for record in epochs] == [1, 2]
        assert run.evaluation()["test_accuracy"] > 0.5
        # Every page reads it: the engine loads the model mirrored from the node.
        assert get_engine("numpy").predict_proba(run, get_dataset_digits()).shape == (5, 10)


def get_dataset_digits():
    from mnist_lab.data import load_mnist

    return load_mnist().x_test[:5]


def test_a_single_run_from_the_cli_trains_on_the_cluster(cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    flags = f"train --engine numpy --subset 1000 --epochs 1 --cluster {cluster.address}"
    assert main(flags.split()) == 0
    assert "Test accuracy: 0." in capsys.readouterr().out
    (run,) = RunStore(tmp_path / "runs").list()
    assert run.status()["state"] == "finished" and run.status()["node"]
    assert RUN_FILES <= {path.name for path in run.path.iterdir()}


def test_the_sweeps_pages_detached_driver_trains_on_the_cluster(cluster, tmp_path):
    store = RunStore(tmp_path / "runs")
    sweep = sweep_of(store, cluster, {"subset": 1000, "epochs": 1}, "0.1,0.5")
    start_sweep_driver(sweep)
    wait_for(lambda: sweep.state()["state"] == "finished", "the detached driver")
    assert [row["state"] for row in trial_rows(sweep)] == ["finished", "finished"]


def test_a_students_second_run_waits_for_the_cluster_while_a_classmates_trains(
    cluster, tmp_path, monkeypatch
):
    """The fair policy holds on the cluster: two CPUs, yet Ada's second run waits for her first."""
    monkeypatch.setenv(RUNS_PER_STUDENT_ENV, "1")
    store = RunStore(tmp_path / "runs")
    executor = executor_for(store, cluster.address)
    long_run = NumpyNetSettings(subset=20000, epochs=100, batch_size=4).to_dict()
    short_run = NumpyNetSettings(subset=500, epochs=1).to_dict()
    ada1 = store.create(long_run, owner="Ada")
    executor.launch(ada1)
    wait_for(lambda: ada1.status()["state"] == "running", "Ada's first run to train")
    ada2 = store.create(short_run, owner="Ada")
    executor.launch(ada2)
    time.sleep(0.002)  # run ids are stamped to the millisecond: keep launch order
    bob1 = store.create(short_run, owner="Bob")
    executor.launch(bob1)
    wait_for(lambda: bob1.status()["state"] == "finished", "Bob's run to overtake")
    # Bob's CPU is free again, yet Ada's second run is not let onto it.
    time.sleep(1.0)
    assert ada2.status()["state"] == "queued", "Ada trained two runs at once"
    assert [place.run for place in current_queue(store)] == [ada2]
    ada1.request_stop()
    wait_for(lambda: ada2.status()["state"] == "finished", "Ada's second run")
    assert ada1.status()["state"] == "stopped" and ada2.status()["node"]


def test_a_run_stops_after_the_launch_before_it_is_gone(cluster, tmp_path):
    """Each launch makes an executor; Bob's run still stops once Ada's executor is collected."""
    store = RunStore(tmp_path / "runs")
    adas = executor_for(store, cluster.address)
    bobs = executor_for(store, cluster.address)
    del adas
    gc.collect()
    bob = store.create(NumpyNetSettings(subset=20000, epochs=100, batch_size=4).to_dict())
    bobs.launch(bob)
    wait_for(lambda: records.of_kind(bob.metrics(), "batch"), "Bob's run to train")
    bob.request_stop()
    wait_for(lambda: bob.status()["state"] not in LIVE_STATES, "Bob's run to stop")
    assert bob.status()["state"] == "stopped", bob.status()["message"]


@contextlib.contextmanager
def driven_in_background(sweep):
    """Drive ``sweep`` in a thread; cancel it and wait for its driver on the way out.

    Yields the list the driver's final state is appended to.
    """
    outcome = []
    driver = threading.Thread(target=lambda: outcome.append(run_sweep(sweep, poll_s=0.2)))
    driver.start()
    try:
        yield outcome
    finally:
        sweep.request_cancel()
        driver.join(180)


def wait_for_both_training(sweep) -> None:
    """Wait until the sweep's first two trials have each finished an epoch."""

    def both_training():
        runs = sweep.runs()
        return len(runs) == 2 and all(records.of_kind(r.metrics(), "epoch") for r in runs)

    wait_for(both_training, "both trials' first epoch")


def test_two_trials_at_once_train_on_two_nodes_one_per_cpu(cluster, tmp_path):
    """A trial holds its node's one CPU while it trains, so the second goes to the other node.

    Each trial's status names the node its task ran on (the task's own Ray node id).
    """
    if cluster.worker.poll() is not None:
        start_worker(cluster)
    sweep = sweep_of(RunStore(tmp_path / "runs"), cluster, LONG_TRIAL, "0.1,0.2")
    with driven_in_background(sweep) as outcome:
        wait_for_both_training(sweep)
        nodes = [run.status()["node"] for run in sweep.runs()]
        assert [run.status()["state"] for run in sweep.runs()] == ["running", "running"]
    assert len(set(nodes)) == 2, f"two trials trained on one 1-CPU node: {nodes}"
    assert outcome == ["cancelled"]


def sweep_story(sweep) -> str:
    """The sweep's and its trials' states and messages, for a failure to say what it saw."""
    trials = "; ".join(
        f"{run.id}: {run.status()['state']} ({run.status()['message']})" for run in sweep.runs()
    )
    return f"sweep {sweep.state()}; trials {trials}"


def lose_a_node_mid_trial(sweep, cluster, lose_node) -> None:
    """Lose the worker node while both trials train; stop the head's to free its CPU.

    The lost trial reads interrupted with what had arrived, and the sweep launches its third.
    """
    wait_for_both_training(sweep)
    lose_node(cluster.worker)
    lost = wait_for(
        lambda: [r for r in sweep.runs() if r.status()["state"] == "interrupted"],
        "the lost trial to read interrupted",
    )
    assert len(lost) == 1
    assert "The cluster lost this run" in lost[0].status()["message"]
    assert records.of_kind(lost[0].metrics(), "epoch"), "what had arrived is kept"
    # The head's one CPU is busy with a long trial: stopping it frees the CPU for the third.
    (survivor,) = [r for r in sweep.runs() if r.status()["state"] == "running"]
    survivor.request_stop()
    try:
        third = wait_for(lambda: sweep.runs()[2:], "the sweep to launch its third trial")[0]
    except AssertionError as error:
        raise AssertionError(f"{error}; {sweep_story(sweep)}") from None
    wait_for(lambda: third.status()["state"] == "running", "the third trial to train")


@pytest.mark.parametrize("lose_node", [kill_node, freeze_node], ids=["killed", "frozen"])
def test_a_lost_node_leaves_its_trial_interrupted_and_the_sweep_goes_on(
    cluster, tmp_path, lose_node
):
    """A node that dies, or hangs so that Ray never fails its stream, costs only its own trial."""
    if cluster.worker.poll() is not None:
        start_worker(cluster)
    store = RunStore(tmp_path / "runs")
    # Long trials: the node is killed while both train; the third runs on the head once the
    # head's own trial is stopped.
    sweep = sweep_of(store, cluster, LONG_TRIAL, "0.1,0.2,0.3")
    try:
        with driven_in_background(sweep) as outcome:
            lose_a_node_mid_trial(sweep, cluster, lose_node)
    finally:
        kill_node(cluster.worker)
    assert outcome == ["cancelled"]
    states = sorted(run.status()["state"] for run in sweep.runs())
    assert states == ["interrupted", "stopped", "stopped"]
    for run in sweep.runs():
        assert run.status()["state"] not in LIVE_STATES
        if run.status()["state"] == "stopped":
            assert (run.path / "weights.npz").exists(), "a stopped trial keeps its model"
    assert len({r.status()["node"] for r in sweep.runs()}) == 2


def test_an_unreachable_cluster_is_a_message(tmp_path):
    with pytest.raises(ValueError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        executor_for(RunStore(tmp_path), "127.0.0.1:1")

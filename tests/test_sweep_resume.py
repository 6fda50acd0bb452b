"""A sweep's driver killed with SIGKILL, and started again: every point trains once.

The driver is a real ``python -m mnist_lab sweep-driver`` process (as the Sweeps page starts
it), killed once its first trial's run directory holds a config; its trials train in real
workers. The resumed driver keeps what was launched and launches only the rest.
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from mnist_lab import records
from mnist_lab.cli.main import main
from mnist_lab.engines import get_engine
from mnist_lab.execution.queue_entry import queue_entry
from mnist_lab.launch import launch
from mnist_lab.processes import process_alive
from mnist_lab.runs import RunStore
from mnist_lab.sweeps.driver import run_sweep, start_sweep_driver
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import Sweep, SweepDefinition, SweepStore, Trial
from tests.test_faults import store, wait_for  # noqa: F401 (fixture)

NUMPY = get_engine("numpy").settings_class.declared()
RATES = (0.05, 0.1, 0.5)


def three_point_sweep(store: RunStore, epochs: int = 1) -> Sweep:  # noqa: F811
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 600, "epochs": epochs},
        parameters=[parse_parameter("learning_rate=" + ",".join(map(str, RATES)), NUMPY)],
        parallel=1,
        name="resumed",
        owner="Ada",
    ).validate()
    return SweepStore(store).create(definition)


def assert_each_point_trained_once(sweep: Sweep, store: RunStore, epochs: int = 1) -> None:  # noqa: F811
    trials = sweep.trials()
    assert sorted(t.point for t in trials) == [0, 1, 2], trials
    assert {run.id for run in store.list()} == {t.run for t in trials}, "a point ran twice"
    for run in sweep.runs():
        assert run.status()["state"] == "finished", run.status()
        trained = [record["epoch"] for record in records.of_kind(run.metrics(), "epoch")]
        assert trained == list(range(1, epochs + 1)), "a trial was trained twice"
    assert sorted(run.config()["learning_rate"] for run in sweep.runs()) == list(RATES)


def test_a_driver_killed_between_launches_resumes_where_it_stopped(store):  # noqa: F811
    sweep = three_point_sweep(store, epochs=2)
    driver = start_sweep_driver(sweep)
    try:
        # The kill point: the first trial is queued; the other two points are not launched.
        first = wait_for(
            lambda: [run for run in store.list() if queue_entry(run) is not None],
            "the first trial to be queued",
        )[0]
        os.kill(driver, signal.SIGKILL)
        wait_for(lambda: not process_alive(driver), "the driver to die")
    finally:
        if process_alive(driver):
            os.kill(driver, signal.SIGKILL)
    assert sweep.state()["state"] == "interrupted"
    assert "Resume it" in sweep.state()["message"]
    assert len(store.list()) == 1, "the killed driver launched more than it had"

    assert main(["sweep", "--resume", sweep.id]) == 0
    assert_each_point_trained_once(sweep, store, epochs=2)
    assert sweep.trials()[0].run == first.id, "the launched trial was launched again"
    assert sweep.state()["state"] == "finished"


def test_a_trial_created_but_never_queued_or_recorded_is_adopted_and_trained(store):  # noqa: F811
    """The narrowest kill points: after the run's config is written, before it is recorded in
    sweep.json (an untracked run), and after it is recorded but before it is queued."""
    sweep = three_point_sweep(store)
    definition = sweep.definition()
    untracked = store.create(
        definition.trial_config({"learning_rate": RATES[0]}, 0, sweep.id, 0), name="t0"
    )
    untracked.file("status.json").unlink()  # killed before even its status was written
    recorded = store.create(
        definition.trial_config({"learning_rate": RATES[1]}, 0, sweep.id, 1), name="t1"
    )
    sweep.add_trial(Trial(recorded.id, 1, 0, {"learning_rate": RATES[1]}))
    assert queue_entry(recorded) is None and queue_entry(untracked) is None

    lines = []
    assert run_sweep(sweep, poll_s=0.2, report=lines.append) == "finished"
    assert any(line.startswith("Resumed: 2 trial(s)") for line in lines), lines
    assert_each_point_trained_once(sweep, store)
    assert {untracked.id, recorded.id} <= {t.run for t in sweep.trials()}


def test_a_second_driver_of_a_driven_sweep_is_refused(store):  # noqa: F811
    sweep = three_point_sweep(store)
    with sweep.driving():
        with pytest.raises(ValueError, match="is being driven by another process"):
            run_sweep(sweep)
    assert store.list() == [], "the refused driver launched a trial"


def test_an_ended_sweep_is_not_driven_again(store, capsys):  # noqa: F811
    sweep = three_point_sweep(store)
    sweep.update(state="finished", message="3 of 3 trials ended.")
    assert main(["sweep", "--resume", sweep.id]) == 2
    assert "is finished" in capsys.readouterr().err
    assert main(["sweep", "--resume", "sweep-nothing"]) == 2
    assert "no sweep 'sweep-nothing'" in capsys.readouterr().err
    assert main(["sweep", "--resume", sweep.id, "--grid", "learning_rate=0.1"]) == 2
    assert "give it alone" in capsys.readouterr().err
    assert store.list() == []


def test_a_resumed_bayesian_search_keeps_the_points_it_launched(store):  # noqa: F811
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 500, "epochs": 1},
        parameters=[parse_parameter("learning_rate=log:0.01:1", NUMPY)],
        method="bayes",
        count=2,
    ).validate()
    sweep = SweepStore(store).create(definition)
    point = {"learning_rate": 0.3}
    run = launch(
        store,
        definition.trial_config(point, 0, sweep.id, 0),
        force=True,
        prepare=lambda run: sweep.add_trial(Trial(run.id, 0, 0, point)),
    ).run
    assert run_sweep(sweep, poll_s=0.2) == "finished"
    trials = sweep.trials()
    assert [t.point for t in trials] == [0, 1] and trials[0].run == run.id
    assert len(store.list()) == 2


def test_a_launched_trial_whose_run_was_deleted_is_not_launched_again(store):  # noqa: F811
    sweep = three_point_sweep(store)
    gone = store.create(sweep.definition().trial_config({"learning_rate": RATES[0]}, 0, "x", 0))
    sweep.add_trial(Trial(gone.id, 0, 0, {"learning_rate": RATES[0]}))
    shutil.rmtree(gone.path)  # deleted by hand while the driver was down
    assert run_sweep(sweep, poll_s=0.2) == "finished"
    assert [t.point for t in sweep.trials()] == [0, 1, 2]
    assert len(store.list()) == 2
    assert [run.status()["state"] for run in sweep.runs()[1:]] == ["finished", "finished"]

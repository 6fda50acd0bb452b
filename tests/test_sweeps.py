"""Sweeps: parameters and their samplers, the sweep file, and real sweeps of real runs."""

from __future__ import annotations

import json
import re

import pytest

from mnist_lab.cli.main import main
from mnist_lab.engines import get_engine
from mnist_lab.runs import RunStore
from mnist_lab.settings import Settings
from mnist_lab.sweeps.driver import below_median, run_sweep
from mnist_lab.sweeps.results import best_first, trial_rows
from mnist_lab.sweeps.space import MAX_TRIALS, Parameter, PointSampler, parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore

NUMPY = get_engine("numpy").settings_class.declared()
KERAS = get_engine("keras").settings_class.declared()


def test_values_and_ranges_are_read_in_the_settings_kinds():
    assert parse_parameter("batch_size=32,128,32", KERAS).values == (32, 128)
    assert parse_parameter("optimizer=sgd,adam", KERAS).values == ("sgd", "adam")
    assert parse_parameter("nesterov=true,false", KERAS).values == (True, False)
    rate = parse_parameter("learning-rate=log:1e-4:1e-1", KERAS)
    assert (rate.low, rate.high, rate.log, rate.integer) == (1e-4, 1e-1, True, False)
    units = parse_parameter("hidden_units=16:256", NUMPY)
    assert units.integer and units.is_range


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=red", "cannot be swept; choose one of"),
        ("layers=[]", "cannot be swept"),
        ("batch_size=0,32", "batch_size must be a whole number in [1, 8192]"),
        ("optimizer=adam,lion", "optimizer must be one of"),
        ("momentum=log:0:0.9", "a log range must start above 0"),
        ("learning_rate=0.1:0.01", "low end must be below"),
        ("optimizer=a:b", "a range is [log:|int:]LOW:HIGH of a number setting"),
        ("learning_rate", "write a parameter as NAME=V1,V2"),
    ],
)
def test_bad_parameters_are_refused_with_a_message(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_parameter(text, KERAS)


def test_a_grid_tries_every_combination_and_refuses_ranges():
    sampler = PointSampler(
        "grid", [Parameter("a", values=(1, 2, 3)), Parameter("b", values=("x", "y"))], count=0
    )
    points = [sampler.ask()[1] for _ in range(sampler.count)]
    assert len(points) == 6 and not sampler.has_more()
    assert {(p["a"], p["b"]) for p in points} == {(a, b) for a in (1, 2, 3) for b in "xy"}
    with pytest.raises(ValueError, match="a grid needs values"):
        PointSampler("grid", [Parameter("a", low=1, high=2)], count=0)
    with pytest.raises(ValueError, match=f"1 to {MAX_TRIALS} trials"):
        PointSampler("random", [Parameter("a", low=1, high=2)], count=MAX_TRIALS + 1)


def test_random_and_bayesian_points_stay_in_their_ranges():
    parameters = [
        parse_parameter("learning_rate=log:1e-4:1e-1", KERAS),
        parse_parameter("batch_size=int:16:256", KERAS),
        parse_parameter("optimizer=sgd,adam", KERAS),
    ]
    for method in ("random", "bayes"):
        sampler = PointSampler(method, parameters, count=12, seed=3)
        for _ in range(12):
            number, point = sampler.ask()
            assert 1e-4 <= point["learning_rate"] <= 1e-1
            assert isinstance(point["batch_size"], int) and 16 <= point["batch_size"] <= 256
            assert point["optimizer"] in ("sgd", "adam")
            sampler.tell(number, point["learning_rate"])
        assert not sampler.has_more()
    rates = [PointSampler("random", parameters, 5, seed=3).ask()[1] for _ in range(2)]
    assert rates[0] == rates[1], "the sampler's seed makes a sweep repeatable"


def test_a_definition_round_trips_and_tags_each_trial(tmp_path):
    definition = SweepDefinition(
        engine="keras",
        base={"preset": "mlp-relu", "subset": 500},
        parameters=[parse_parameter("learning_rate=0.001,0.01", KERAS)],
        repeats=2,
        name="rates",
    ).validate()
    sweep = SweepStore(RunStore(tmp_path / "runs")).create(definition)
    assert SweepStore(RunStore(tmp_path / "runs")).list()[0].id == sweep.id
    assert RunStore(tmp_path / "runs").list() == [], "a sweep is never listed as a run"
    assert sweep.definition() == definition and definition.trial_count() == 4
    config = definition.trial_config({"learning_rate": 0.01}, 1, sweep.id, point=1)
    assert config["sweep"] == {"id": sweep.id, "point": 1, "repeat": 1}
    assert config["learning_rate"] == 0.01 and config["seed"] == 1
    # The preset's recipe fills what the sweep leaves out; every page reads it as a run.
    assert config["optimizer"] == "adam" and config["subset"] == 500
    settings = get_engine("keras").settings_class.from_dict(config)
    assert isinstance(settings, Settings) and settings.learning_rate == 0.01


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parameters": []}, "at least one parameter"),
        ({"base": {"learning_rate": 0.1}}, "both a fixed setting and a swept parameter"),
        ({"repeats": 11}, "repeats must be 1 to 10"),
        ({"parallel": 0}, "parallel must be 1 to 16"),
        ({"base": {"subset": 5}}, "subset must be"),
    ],
)
def test_bad_definitions_are_refused(change, message):
    values = {
        "engine": "keras",
        "base": {},
        "parameters": [Parameter("learning_rate", values=(0.1,))],
    }
    with pytest.raises(ValueError, match=message):
        SweepDefinition(**(values | change)).validate()


def test_the_median_rule_waits_for_others_then_stops_the_laggard(tmp_path):
    store = RunStore(tmp_path)

    def run_with(scores):
        run = store.create({"engine": "numpy"})
        for epoch, score in enumerate(scores, start=1):
            run.append_metrics({"kind": "epoch", "epoch": epoch, "val_accuracy": score})
        return run

    others = [run_with([0.8, 0.9]), run_with([0.7, 0.85]), run_with([0.6])]
    assert not below_median(run_with([0.1, 0.2]), others[:2]), "two others are too few"
    assert below_median(run_with([0.65]), others)
    assert not below_median(run_with([0.75]), others)


def test_a_small_sweep_trains_every_trial_locally(tmp_path):
    store = RunStore(tmp_path / "runs")
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 600, "epochs": 1},
        parameters=[parse_parameter("learning_rate=0.05,0.5", NUMPY)],
        repeats=2,
        parallel=2,
        name="numpy rates",
        owner="Ada",
    ).validate()
    sweep = SweepStore(store).create(definition)
    lines = []
    assert run_sweep(sweep, poll_s=0.2, report=lines.append) == "finished"

    rows = trial_rows(sweep)
    assert len(rows) == 4 and {row["state"] for row in rows} == {"finished"}
    assert sorted((row["learning_rate"], row["seed"]) for row in rows) == [
        (0.05, 0),
        (0.05, 1),
        (0.5, 0),
        (0.5, 1),
    ]
    assert all(0.1 < row["test_accuracy"] <= 1 for row in rows)
    assert best_first(rows)[0]["test_accuracy"] == max(row["test_accuracy"] for row in rows)
    assert {run.id for run in store.list()} == {row["run"] for row in rows}
    for run in store.list():
        assert run.config()["sweep"]["id"] == sweep.id and run.evaluation() is not None
        assert run.owner == "Ada", "every trial is the sweep's launcher's"
    assert (
        sweep.state()["state"] == "finished"
        and "4 of 4 trials ended" in lines[-1]
        or any("[4/4]" in line for line in lines)
    )


def test_a_cancelled_sweep_stops_its_trials_and_launches_no_more(tmp_path):
    store = RunStore(tmp_path / "runs")
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 20000, "epochs": 100},
        parameters=[parse_parameter("learning_rate=0.1,0.2,0.3", NUMPY)],
    ).validate()
    sweep = SweepStore(store).create(definition)

    def cancel_once_training(line):
        if line.startswith("Launched"):
            sweep.request_cancel()

    assert run_sweep(sweep, poll_s=0.2, report=cancel_once_training) == "cancelled"
    runs = store.list()
    assert len(runs) == 1 and runs[0].status()["state"] == "stopped"
    assert sweep.state()["state"] == "cancelled"


def test_the_cli_runs_a_grid_and_prints_it_sorted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    code = main(
        "sweep --engine numpy --subset 500 --epochs 1 --grid learning_rate=0.01,1.0 "
        "--grid hidden_units=8,32 --parallel 2 --name cli".split()
    )
    out = capsys.readouterr().out
    assert code == 0, out
    table = out[out.index("test acc  state") :].splitlines()[1:5]
    accuracies = [float(line.split("%")[0]) for line in table]
    assert accuracies == sorted(accuracies, reverse=True) and len(accuracies) == 4
    sweep = SweepStore(RunStore(tmp_path / "runs")).list()[0]
    assert json.loads(sweep.file("sweep.json").read_text())["state"] == "finished"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--grid learning_rate=log:1e-4:1e-1", "a grid needs values"),
        ("--learning-rate 0.1 --grid learning_rate=0.1,0.2", "as a flag or vary it, not both"),
        ("--grid colour=1", "cannot be swept"),
        ("--grid learning_rate=0.1 --cluster 127.0.0.1:1", "cannot reach the Ray cluster"),
        ("--grid learning_rate=0.1 --cluster nowhere", "a cluster address is HOST:PORT"),
    ],
)
def test_bad_sweeps_exit_2_with_a_message(flags, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    assert main(["sweep", "--engine", "numpy", *flags.split()]) == 2
    assert message in capsys.readouterr().err
    assert SweepStore(RunStore(tmp_path / "runs")).list() == [], "a refused sweep leaves nothing"


def test_a_huge_grid_is_refused_before_any_point_is_built():
    """10^12 points: counted from the value lists, refused with the count and the limit."""
    import tracemalloc

    parameters = [Parameter(f"p{i}", values=tuple(range(100))) for i in range(6)]
    definition = SweepDefinition(engine="numpy", base={}, parameters=parameters)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"1 to {MAX_TRIALS} trials, this one would run"):
            definition.validate()
        with pytest.raises(ValueError, match="would run 1,000,000,000,000"):
            PointSampler("grid", parameters, count=0)
        # A million points, each a dict, would take hundreds of MB before the check.
        small = [Parameter(f"p{i}", values=tuple(range(100))) for i in range(3)]
        with pytest.raises(ValueError, match="would run 1,000,000"):
            PointSampler("grid", small, count=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, f"{peak / 2**20:.0f} MB used to refuse a grid"


def test_a_huge_grid_from_the_cli_is_one_line_naming_its_size(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    rates = ",".join(f"{0.001 * i:g}" for i in range(1, 101))
    units = ",".join(map(str, range(1, 101)))
    batches = ",".join(map(str, range(1, 101)))
    flags = f"--grid learning_rate={rates} --grid hidden_units={units} --grid batch_size={batches}"
    assert main(["sweep", "--engine", "numpy", "--repeats", "2", *flags.split()]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"1 to {MAX_TRIALS} trials, this one would run 2,000,000" in err
    assert "(1,000,000 points x 2 seeds)" in err


@pytest.mark.parametrize("method", ["--random", "--bayes"])
def test_drawing_zero_points_is_refused_not_run_as_a_grid(method, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    flags = [method, "0", "--grid", "learning_rate=log:1e-3:1"]
    assert main(["sweep", "--engine", "numpy", *flags]) == 2
    name = method.removeprefix("--")
    assert f"a {name} sweep draws 1 to {MAX_TRIALS} points, got 0" in capsys.readouterr().err
    assert SweepStore(RunStore(tmp_path / "runs")).list() == []

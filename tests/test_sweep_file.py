"""A damaged ``sweep.json`` of every kind reads as damaged, with its reason, never raised.

One good sweep file is written by `SweepStore.create`, then each case breaks one field:
missing, the wrong type, the wrong form, numbers too large for a field or for Python.
"""

from __future__ import annotations

import json

import pytest

from mnist_lab.files import DamagedRunError
from mnist_lab.runs import RunStore
from mnist_lab.sweeps.space import Parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore


def good_sweep(tmp_path):
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 500, "epochs": 1},
        parameters=[Parameter("learning_rate", values=(0.1, 0.5))],
        name="good",
        owner="Ada",
    ).validate()
    sweep = SweepStore(RunStore(tmp_path / "runs")).create(definition)
    sweep.update(
        state="running",
        driver={"pid": 1, "pid_start": "1"},
        trials=[{"run": "r1", "point": 0, "repeat": 0, "params": {"learning_rate": 0.1}}],
    )
    return sweep


def in_definition(key, value):
    return lambda data: data["definition"].__setitem__(key, value)


def without(key, where=None):
    return lambda data: (data[where] if where else data).pop(key)


def in_trial(key, value):
    return lambda data: data["trials"][0].__setitem__(key, value)


def in_parameter(key, value):
    return lambda data: data["definition"]["parameters"][0].__setitem__(key, value)


CASES = {
    # The whole file.
    "not JSON": (b"{not json", "not valid JSON"),
    "not an object": (b"[1, 2]", "does not hold a JSON object"),
    # Too long for Python's int(): read as infinite (mnist_lab.files), so its field is named.
    "an integer too long for Python": (
        b'{"format": 1, "state": "running", "trials": [], "definition": ' + b"9" * 5000 + b"}",
        "definition is not an object",
    ),
    # Top-level fields.
    "format missing": (without("format"), "format is not version 1"),
    "state missing": (without("state"), "state is not one of"),
    "state unknown": (lambda d: d.update(state="exploded"), "state is not one of"),
    "message not text": (lambda d: d.update(message=["x"]), "message is not text"),
    "started not text": (lambda d: d.update(started=5), "started is not text"),
    "driver not an object": (lambda d: d.update(driver="x"), "driver is not an object"),
    "driver pid as text": (lambda d: d["driver"].update(pid="12"), "driver's pid"),
    "driver pid huge": (lambda d: d["driver"].update(pid=10**40), "driver's pid"),
    "driver pid_start a number": (lambda d: d["driver"].update(pid_start=7), "pid_start"),
    "trials missing": (without("trials"), "trials is not a list"),
    "trials not a list": (lambda d: d.update(trials={"a": 1}), "trials is not a list"),
    "too many trials": (lambda d: d.update(trials=d["trials"] * 201), "trials is not a list"),
    # One trial.
    "trial not an object": (lambda d: d.update(trials=[5]), "trial is not an object"),
    "trial run outside": (in_trial("run", "../../etc"), "trial's run is not a run id"),
    "trial run missing": (lambda d: d["trials"][0].pop("run"), "trial's run"),
    "trial point as text": (in_trial("point", "0"), "trial's point"),
    "trial point a flag": (in_trial("point", True), "trial's point"),
    "trial point huge": (in_trial("point", 10**30), "trial's point"),
    "trial point negative": (in_trial("point", -1), "trial's point"),
    "trial repeat missing": (lambda d: d["trials"][0].pop("repeat"), "trial's repeat"),
    "trial params a list": (in_trial("params", [1]), "trial's params is not an object"),
    "trial param a list": (in_trial("params", {"learning_rate": [1]}), "is not a value"),
    "trial pruned as text": (in_trial("pruned", "no"), "trial's pruned"),
    # The definition.
    "definition missing": (without("definition"), "definition is not an object"),
    "definition a list": (lambda d: d.update(definition=[]), "definition is not an object"),
    "engine missing": (without("engine", "definition"), "definition lacks engine"),
    "engine unknown": (in_definition("engine", "nope"), "engine is not one of"),
    "engine a number": (in_definition("engine", 5), "engine is not one of"),
    "base a list": (in_definition("base", [1]), "base is not an object"),
    "parameters missing": (without("parameters", "definition"), "lacks parameters"),
    "parameters empty": (in_definition("parameters", []), "parameters is not a list"),
    "parameters text": (in_definition("parameters", "lr"), "parameters is not a list"),
    "method unknown": (in_definition("method", "psychic"), "method is not one of"),
    "count as text": (in_definition("count", "8"), "count is not a whole number"),
    "count negative": (in_definition("count", -1), "count is not a whole number"),
    "count infinite": (in_definition("count", float("inf")), "count is not a whole number"),
    "repeats zero": (in_definition("repeats", 0), "repeats is not a whole number"),
    "parallel as text": (in_definition("parallel", "2"), "parallel is not a whole number"),
    "median_stop as text": (in_definition("median_stop", "yes"), "median_stop is not true"),
    "cluster a number": (in_definition("cluster", 5), "cluster is not text"),
    "name a list": (in_definition("name", ["x"]), "name is not text"),
    "name too long": (in_definition("name", "x" * 500), "name is not text of at most 80"),
    "seed huge": (in_definition("seed", 2**70), "seed is not a whole number"),
    "owner a list": (in_definition("owner", ["Ada"]), "owner is not text"),
    # One parameter.
    "parameter not an object": (in_definition("parameters", [5]), "parameter is not an object"),
    "parameter unknown": (in_parameter("name", "colour"), "parameter name is not a setting"),
    "parameter values text": (in_parameter("values", "0.1"), "values is not a list"),
    "parameter value NaN": (in_parameter("values", [float("nan")]), "is not a value"),
    "parameter value object": (in_parameter("values", [{}]), "is not a value"),
    "parameter neither values nor range": (in_parameter("values", []), "neither values"),
    "range end infinite": (
        lambda d: d["definition"]["parameters"][0].update(values=[], low=0.1, high=1e999),
        "high is not a finite number",
    ),
    "parameter log as text": (in_parameter("log", "no"), "log is not true or false"),
    "grid beyond the limit": (
        lambda d: d["definition"].update(
            parameters=[
                {"name": "learning_rate", "values": [0.01 * i for i in range(1, 101)]},
                {"name": "hidden_units", "values": list(range(1, 101))},
            ]
        ),
        "this one would run 10,000",
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_damaged_sweep_file_reads_as_damaged_with_its_reason(tmp_path, kind):
    sweep = good_sweep(tmp_path)
    change, reason = CASES[kind]
    if isinstance(change, bytes):
        sweep.file("sweep.json").write_bytes(change)
    else:
        data = json.loads(sweep.file("sweep.json").read_text())
        change(data)
        sweep.file("sweep.json").write_text(json.dumps(data))
    state = sweep.state()
    assert state["state"] == "damaged" and reason in state["message"], state
    for read in (sweep.definition, sweep.trials, sweep.runs, sweep.raw):
        with pytest.raises(DamagedRunError, match=reason.split("'")[0]):
            read()
    assert sweep.name == sweep.id and sweep.owner is None
    assert [s.id for s in SweepStore(sweep.run_store).list()] == [sweep.id]


def test_the_good_sweep_file_reads_whole(tmp_path):
    sweep = good_sweep(tmp_path)
    assert sweep.definition().owner == "Ada" and sweep.trials()[0].run == "r1"
    assert sweep.state()["state"] == "interrupted"  # pid 1 never started at time "1"

"""AppTest of the Sweeps page: a real finished sweep read back, a launch, and bad input."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.sweeps import sweeps_view
from mnist_lab.engines import get_engine
from mnist_lab.launch import CLUSTER_ENV
from mnist_lab.ownership import TEACHER_KEY_ENV
from mnist_lab.processes import process_start_time
from mnist_lab.sweeps.driver import run_sweep
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore
from tests.test_faults import store, wait_for  # noqa: F401 (fixture)

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
NUMPY = get_engine("numpy").settings_class.declared()
# Markdown and HTML in a sweep's name reach its trials' names: both must show as typed.
MARKED_UP = "![w](http://e.in/w.png) <b>x"


@pytest.fixture
def finished_sweep(store):  # noqa: F811
    """Four real NumPy runs over two learning rates and two widths, 600 digits, one epoch."""
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 600, "epochs": 2},
        parameters=[
            parse_parameter("learning_rate=0.01,1.0", NUMPY),
            parse_parameter("hidden_units=8,32", NUMPY),
        ],
        parallel=2,
        name=MARKED_UP,
    ).validate()
    sweep = SweepStore(store).create(definition)
    assert run_sweep(sweep, poll_s=0.2) == "finished"
    return sweep


def open_page(name: str | None = None, teacher: bool = False) -> AppTest:
    """The Sweeps page inside the real frame (so its link to Evaluate resolves), as ``name``."""
    app = AppTest.from_file(str(HOME), default_timeout=60)
    if name is not None:
        app.session_state["identity_name"] = name
    app.session_state["identity_teacher"] = teacher
    return app.run().switch_page("../pages/sweeps.py").run()


def charts(app: AppTest) -> dict[str, dict]:
    return {chart.proto.id: json.loads(chart.proto.spec) for chart in app.get("plotly_chart")}


def test_without_sweeps_the_form_is_open_and_says_where_to_start(store):  # noqa: F811
    app = open_page()
    assert not app.exception
    assert "No sweep yet" in app.info[0].value
    assert app.multiselect(key="sweeps_parameters_keras").value == ["learning_rate", "batch_size"]


def test_a_finished_sweep_reads_as_a_table_and_four_charts(finished_sweep):
    app = open_page()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 4 and set(table["Status"]) == {"finished"}
    accuracies = [float(value.strip("% ")) for value in table["Test accuracy"]]
    assert accuracies == sorted(accuracies, reverse=True)
    best = table.iloc[0]
    link = app.get("page_link")[0].proto
    assert link.label.startswith("Evaluate the best run")
    assert plain_markdown(best["Run"]) in link.label, "a trial's name rendered as markdown"
    specs = list(charts(app).values())
    kinds = [spec["data"][0]["type"] for spec in specs]
    assert kinds[:2] == ["parcoords", "scatter"] and "bar" in kinds
    parcoords = specs[0]["data"][0]
    assert [d["label"] for d in parcoords["dimensions"]] == [
        "learning_rate (log)",
        "hidden_units",
        "test accuracy",
    ]
    importance = next(spec for spec in specs if spec["data"][0]["type"] == "bar")["data"][0]
    assert sorted(importance["y"]) == ["hidden_units", "learning_rate"]
    # The overlaid curves: every trial, train and validation, loss and accuracy.
    assert len(specs[-1]["data"]) == 4 * 4
    assert app.selectbox(key="sweeps_pick").value == finished_sweep.id
    assert MARKED_UP in app.selectbox(key="sweeps_pick").options[0]
    finished_sweep.update(message="**all** [done](http://e.in)")
    app = open_page()
    assert plain_markdown("finished: **all** [done](http://e.in)") in [c.value for c in app.caption]


def test_the_form_launches_a_sweep_that_trains(store):  # noqa: F811
    app = open_page()
    app.selectbox(key="sweeps_engine").set_value("numpy").run()
    app.multiselect(key="sweeps_parameters_numpy").set_value(["learning_rate"]).run()
    app.text_input(key="sweeps_values_numpy_learning_rate").set_value("0.1, 0.5")
    app.number_input(key="sweeps_fixed_subset").set_value(500)
    app.number_input(key="sweeps_fixed_epochs").set_value(1)
    app.text_input(key="sweeps_name").set_value("from the form")
    app.button[0].click().run()
    assert not app.exception and not app.error
    sweep = SweepStore(store).list()[0]
    definition = sweep.definition()
    assert definition.base == {"dataset": "MNIST", "subset": 500, "epochs": 1}
    assert definition.name == "from the form"
    deadline = time.monotonic() + 120
    while sweep.state()["state"] != "finished":
        assert time.monotonic() < deadline, sweep.state()
        time.sleep(0.5)
    assert [run.status()["state"] for run in sweep.runs()] == ["finished", "finished"]
    # One epoch each: the curves are drawn per logging window, not as single dots.
    app.run()
    curves = charts(app)[app.get("plotly_chart")[-1].proto.id]
    assert curves["data"] and all(len(trace["x"]) > 1 for trace in curves["data"])
    assert "optimizer step" in json.dumps(curves["layout"])


def test_the_same_sweep_launched_twice_in_seconds_is_asked_about(store, monkeypatch):  # noqa: F811
    started = []
    monkeypatch.setattr(sweeps_view, "start_sweep_driver", started.append)
    app = open_page("Ada")
    app.selectbox(key="sweeps_engine").set_value("numpy").run()
    app.multiselect(key="sweeps_parameters_numpy").set_value(["learning_rate"]).run()
    app.text_input(key="sweeps_name").set_value("twice")
    app.button(key="FormSubmitter:sweeps_form-Launch sweep").click().run()
    assert not app.exception and len(SweepStore(store).list()) == 1 and not app.warning
    # The second click, seconds later: a question, and nothing launched.
    app.button(key="FormSubmitter:sweeps_form-Launch sweep").click().run()
    assert not app.exception and len(SweepStore(store).list()) == 1
    assert "You launched the same sweep" in app.warning[0].value
    assert "Launch it again?" in app.warning[0].value
    app.button(key="sweeps_again").click().run()
    assert not app.exception and not [w for w in app.warning if "launched the same" in w.value]
    assert len(SweepStore(store).list()) == 2 and len(started) == 2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("0.1, lots", "learning_rate must be a number"),
        ("log:1e-4:1e-1", "a grid needs values, not ranges"),
        ("0.1 @ 127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1"),
    ],
)
def test_bad_values_are_a_message_and_launch_nothing(store, values, message):  # noqa: F811
    app = open_page()
    app.selectbox(key="sweeps_engine").set_value("numpy").run()
    app.multiselect(key="sweeps_parameters_numpy").set_value(["learning_rate"]).run()
    values, _, cluster = values.partition(" @ ")
    app.text_input(key="sweeps_values_numpy_learning_rate").set_value(values)
    app.text_input(key="sweeps_cluster").set_value(cluster)
    app.button[0].click().run()
    assert not app.exception
    assert plain_markdown(message) in app.error[0].value
    assert SweepStore(store).list() == []


def sweep_of(store, owner: str, state: str = "running", driver: int | None = None):  # noqa: F811
    """A stored sweep of one short trial, in ``state``, driven by process ``driver``."""
    definition = SweepDefinition(
        engine="numpy",
        base={"subset": 500, "epochs": 1},
        parameters=[parse_parameter("learning_rate=0.5", NUMPY)],
        owner=owner,
    ).validate()
    sweep = SweepStore(store).create(definition, again=True)
    pid = driver or os.getpid()
    sweep.update(state=state, driver={"pid": pid, "pid_start": process_start_time(pid)})
    return sweep


def test_only_a_sweeps_owner_and_the_teacher_may_cancel_it(store, monkeypatch):  # noqa: F811
    monkeypatch.setenv(TEACHER_KEY_ENV, "owl-42")
    sweep = sweep_of(store, "Ada")  # driven by this process: it reads running
    cancel = f"sweeps_cancel_{sweep.id}"
    bob = open_page("Bob")
    assert not bob.exception and not [b for b in bob.button if b.key == cancel]
    assert plain_markdown("This is Ada's sweep: only its owner or the teacher can cancel it.") in [
        c.value for c in bob.caption
    ]
    assert not sweep.cancel_requested()
    for name, teacher in (("Ada", False), ("Tess", True)):
        app = open_page(name, teacher)
        assert [b for b in app.button if b.key == cancel], f"{name} cannot cancel"
    app.button(key=cancel).click().run()
    assert not app.exception and sweep.cancel_requested()


def test_its_owner_resumes_an_interrupted_sweep_from_the_page(store, monkeypatch):  # noqa: F811
    monkeypatch.setenv(TEACHER_KEY_ENV, "owl-42")
    sweep = sweep_of(store, "Ada", driver=2**22 - 7)  # a driver that is gone
    assert sweep.state()["state"] == "interrupted"
    resume = f"sweeps_resume_{sweep.id}"
    bob = open_page("Bob")
    assert not [b for b in bob.button if b.key == resume]
    assert "can resume it" in " ".join(c.value for c in bob.caption)
    ada = open_page("Ada")
    ada.button(key=resume).click().run()
    assert not ada.exception
    wait_for(lambda: sweep.state()["state"] == "finished", "the resumed sweep")
    assert [run.status()["state"] for run in sweep.runs()] == ["finished"]


def test_a_student_sees_the_cluster_but_cannot_choose_it(store, monkeypatch):  # noqa: F811
    monkeypatch.setenv(TEACHER_KEY_ENV, "owl-42")
    monkeypatch.setenv(CLUSTER_ENV, "10.0.0.5:6379")
    bob = open_page("Bob")
    shown = bob.text_input(key="sweeps_cluster_shown")
    assert shown.value == "10.0.0.5:6379" and shown.disabled
    assert not [field for field in bob.text_input if field.key == "sweeps_cluster"]
    teacher = open_page("Tess", teacher=True)
    assert teacher.text_input(key="sweeps_cluster").value == "10.0.0.5:6379"
    monkeypatch.delenv(CLUSTER_ENV)
    assert open_page("Bob").text_input(key="sweeps_cluster_shown").value == "none: this machine"


def test_a_huge_grid_on_the_page_is_a_message_naming_its_size(store):  # noqa: F811
    app = open_page()
    app.selectbox(key="sweeps_engine").set_value("numpy").run()
    chosen = ["learning_rate", "hidden_units", "batch_size"]
    app.multiselect(key="sweeps_parameters_numpy").set_value(chosen).run()
    values = {
        "learning_rate": ", ".join(f"{0.001 * i:g}" for i in range(1, 101)),
        "hidden_units": ", ".join(map(str, range(1, 101))),
        "batch_size": ", ".join(map(str, range(1, 101))),
    }
    for name, text in values.items():
        app.text_input(key=f"sweeps_values_numpy_{name}").set_value(text)
    app.button[0].click().run()
    assert not app.exception
    assert plain_markdown("this one would run 1,000,000") in app.error[0].value
    assert SweepStore(store).list() == []


def test_damaged_sweeps_are_listed_as_damaged_and_the_others_work(store):  # noqa: F811
    good = sweep_of(store, "Ada", state="defined")
    damaged = {}
    for kind, text in {
        "not JSON": "{oops",
        "a list": "[]",
        "trials text": json.dumps({**good.raw(), "trials": "x"}),
        "huge count": json.dumps(
            {**good.raw(), "definition": {**good.raw()["definition"], "count": 10**400}}
        ),
        "point text": json.dumps(
            {**good.raw(), "trials": [{"run": "r", "point": "0", "repeat": 0}]}
        ),
    }.items():
        time.sleep(0.002)  # sweep ids are stamped to the millisecond
        sweep = sweep_of(store, "Ada")
        sweep.file("sweep.json").write_text(text)
        damaged[sweep.id] = kind
    app = open_page()
    assert not app.exception
    picker = app.selectbox(key="sweeps_pick")
    labels = {option for option in picker.options}
    assert sum(label.endswith("(damaged)") for label in labels) == len(damaged)
    for sweep_id in damaged:
        picker.set_value(sweep_id).run()
        assert not app.exception
        assert app.error and "This sweep is damaged" in app.error[0].value, damaged[sweep_id]
    picker.set_value(good.id).run()
    assert not app.exception and not app.error
    assert "No trial launched yet." in [info.value for info in app.info]

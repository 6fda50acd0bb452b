"""AppTest of the Sweeps page: a real finished sweep read back, a launch, and bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.engines import get_engine
from mnist_lab.sweeps.driver import run_sweep
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore
from tests.test_faults import store  # noqa: F401 (fixture)

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
NUMPY = get_engine("numpy").settings_class.declared()


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
        name="rates <b>and</b> widths",
    ).validate()
    sweep = SweepStore(store).create(definition)
    assert run_sweep(sweep, poll_s=0.2) == "finished"
    return sweep


def open_page() -> AppTest:
    """The Sweeps page inside the real frame, so its link to Evaluate resolves."""
    app = AppTest.from_file(str(HOME), default_timeout=60).run()
    return app.switch_page("../pages/sweeps.py").run()


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
    assert link.label.startswith("Evaluate the best run") and best["Run"] in link.label
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
    assert "rates <b>and</b> widths" in app.selectbox(key="sweeps_pick").options[0]


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
    assert message in app.error[0].value
    assert SweepStore(store).list() == []

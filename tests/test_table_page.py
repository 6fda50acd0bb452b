"""AppTest of the MNIST table page, and of the classic engines' runs on the Sweeps page."""

from __future__ import annotations

import pytest
from test_mnist_table import train_row
from test_playground_page import open_page

from mnist_lab import mnist_table
from mnist_lab.engines import get_engine
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import RunStore
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore, Trial

# A training size the page offers, small enough to train two rows in seconds.
SUBSET = 1000


@pytest.fixture(scope="module")
def two_rows(tmp_path_factory):
    """Real finished runs of two rows on 1,000 digits: k-NN (instant) and the linear one."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    for key in ("knn-l2", "linear"):
        train_row(store, key, SUBSET)
    return store


def open_table(monkeypatch, root, subset=None):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(root))
    app = open_page("table.py")
    if subset is not None:
        app.selectbox(key="table_subset").set_value(subset).run()
    assert not app.exception
    return app


def test_with_no_runs_every_row_is_listed_and_can_be_queued(tmp_path, monkeypatch):
    app = open_table(monkeypatch, tmp_path)
    rows = app.dataframe[0].value
    assert list(rows["Method"]) == [row.method for row in mnist_table.ROWS]
    assert rows["Published"].iloc[-1] == "0.95%" and rows["Source"].iloc[-1] == "LeCun et al. 1998"
    assert set(rows["Lab"]) == {"—", "not reproduced"}
    assert "No row has a finished run yet" in app.info[0].value
    assert not app.button(key="table_queue_all").disabled
    assert not app.get("plotly_chart")


def test_finished_runs_fill_their_rows_and_the_chart(two_rows, monkeypatch):
    app = open_table(monkeypatch, two_rows.root, SUBSET)
    rows = app.dataframe[0].value.set_index("Method")
    entries = {e.row.key: e for e in mnist_table.table(two_rows, SUBSET)}
    for key in ("knn-l2", "linear"):
        row = rows.iloc[[r.key for r in mnist_table.ROWS].index(key)]
        assert row["Lab"] == mnist_table.format_error(entries[key].best.test_error)
        assert row["Run"] == f"tiny {key}" and row["Predict / 1,000"].endswith(" s")
        assert app.button(key=f"table_queue_{key}").label == "Train again"
    chart = app.get("plotly_chart")[0]
    assert '"type":"log"' in chart.proto.spec.replace(" ", "")
    # The page for all 60,000 digits does not count runs on 1,000.
    app.selectbox(key="table_subset").set_value(None).run()
    assert set(app.dataframe[0].value["Lab"]) == {"—", "not reproduced"}


def test_one_click_queues_the_rows_recipe(tmp_path, monkeypatch):
    launched = []
    monkeypatch.setattr(LocalExecutor, "launch", lambda executor, run: launched.append(run) or 0)
    app = open_table(monkeypatch, tmp_path, SUBSET)
    app.button(key="table_queue_svm").click().run()
    assert not app.exception
    (run,) = launched
    assert mnist_table.matches(mnist_table.ROW["svm"].config(SUBSET), run.config())
    assert run.status()["state"] == "queued"
    assert "Queued 1 run(s): MNIST table: SVM" in app.success[0].value.replace("\\", "")
    assert app.button(key="table_queue_svm").disabled, "no second run while one waits"
    app.button(key="table_queue_all").click().run()
    reproducible = [row for row in mnist_table.ROWS if row.recipe is not None]
    assert len(launched) == len(reproducible)


def test_a_second_click_within_seconds_asks_before_launching_again(tmp_path, monkeypatch):
    launched = []
    monkeypatch.setattr(LocalExecutor, "launch", lambda executor, run: launched.append(run) or 0)
    app = open_table(monkeypatch, tmp_path, SUBSET)
    app.button(key="table_queue_svm").click().run()
    # Stopped at once: the row's button comes back, and a click repeats the same launch.
    launched[0].update_status(state="stopped", message="Stopped.")
    app.run()
    app.button(key="table_queue_svm").click().run()
    assert not app.exception and not app.error
    assert len(launched) == 1, "asked, not launched twice"
    assert "Launch it again?" in app.warning[0].value.replace("\\", "")
    app.button(key="table_launch_again_button").click().run()
    assert not app.exception and not app.warning
    assert len(launched) == 2 and launched[1].status()["state"] == "queued"
    assert "Queued 1 run(s): MNIST table: SVM" in app.success[0].value.replace("\\", "")
    # The same for every row at once: the stopped row's repeat is asked about.
    launched[1].update_status(state="stopped", message="Stopped.")
    app.run()
    app.button(key="table_queue_all").click().run()
    assert "Launch it again?" in app.warning[0].value.replace("\\", "")
    app.button(key="table_launch_again_button").click().run()
    reproducible = [row for row in mnist_table.ROWS if row.recipe is not None]
    assert len(launched) == 2 + len(reproducible), "each row once more, none twice"


def test_a_damaged_run_does_not_break_the_table(two_rows, monkeypatch, tmp_path):
    broken = two_rows.create(mnist_table.ROW["svm"].config(SUBSET), name="broken")
    broken.file("status.json").write_text("{truncated")
    try:
        app = open_table(monkeypatch, two_rows.root, SUBSET)
        assert (app.dataframe[0].value["Lab"] != "—").sum() == 3, "two filled, one not reproduced"
    finally:
        two_rows.delete(broken.id)


SWEPT = {
    "knn": ({"subset": 300}, "k=1,3"),
    "svm": ({"subset": 300}, "C=1,10"),
    "trees": ({"subset": 300, "epochs": 2}, "max_leaves=4,8"),
}


@pytest.mark.parametrize("engine", SWEPT)
def test_a_classic_engines_finished_sweep_opens_on_the_sweeps_page(engine, tmp_path, monkeypatch):
    base, grid = SWEPT[engine]
    store = RunStore(tmp_path)
    declared = get_engine(engine).settings_class.declared()
    definition = SweepDefinition(
        engine=engine, base=base, parameters=[parse_parameter(grid, declared)], name=engine
    )
    sweep = SweepStore(store).create(definition)
    for point, value in enumerate(definition.parameters[0].values):
        params = {definition.parameters[0].name: value}
        config = definition.trial_config(params, repeat=0, sweep_id=sweep.id, point=point)
        run = store.create(config)
        assert run_worker(run.path) == "finished"
        sweep.add_trial(Trial(run.id, point, 0, params))
    sweep.update(state="finished", message="Done.")
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = open_page("sweeps.py")
    assert not app.exception
    assert set(app.dataframe[0].value["Status"]) == {"finished"}

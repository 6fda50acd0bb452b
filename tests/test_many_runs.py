"""Many runs: run lists read small summaries, tables are filtered and paged, heavy reads bounded."""

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_evaluate_page import NETWORK_CONFIG, fake_probabilities, make_finished_run

from dashboard.ui.runs.runs_view import PAGE_SIZE
from mnist_lab import evaluation as ev
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.evaluation import write_evaluation
from mnist_lab.processes import process_start_time
from mnist_lab.run_summary import summary
from mnist_lab.runs import RunStore

PAGES = Path(__file__).resolve().parents[1] / "pages"


def ended_runs(store: RunStore, count: int) -> list:
    """``count`` finished runs without evaluations, named "run 0"... (cheap to make)."""
    made = []
    for index in range(count):
        run = store.create(NETWORK_CONFIG, name=f"run {index}", owner=f"student {index % 3}")
        run.update_status(state="finished", message="Done.")
        made.append(run)
    return made


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=60)
    app.session_state["identity_teacher"] = True
    return app.run()


@pytest.fixture
def many(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    return store, ended_runs(store, PAGE_SIZE + 5)


@pytest.mark.parametrize(("page", "table"), [("compare", 0), ("classroom", -1)])
def test_the_run_table_is_paged(many, page, table):
    _, runs = many
    app = open_page(page)
    assert not app.exception
    shown = app.dataframe[table].value
    assert len(shown) == PAGE_SIZE
    assert any(f"1-{PAGE_SIZE} of {len(runs)}" in caption.value for caption in app.caption)
    app.number_input(key=f"{page}_{'table' if page == 'compare' else 'runs'}_page").set_value(2)
    app.run()
    second = app.dataframe[table].value
    assert len(second) == 5
    assert not set(second["Run id"]) & set(shown["Run id"]), "page 2 holds the other runs"


def test_the_filter_finds_runs_by_name_or_student_and_shows_its_last_page(many):
    store, runs = many
    app = open_page("compare")
    app.number_input(key="compare_table_page").set_value(2).run()
    app.text_input(key="compare_table_filter").set_value("RUN 1").run()
    assert not app.exception
    # "run 1", "run 10"... "run 19": one page, so the page picker goes back to it.
    assert sorted(app.dataframe[0].value["Name"]) == sorted(
        ["run 1", *(f"run {n}" for n in range(10, 20))]
    )
    assert app.number_input(key="compare_table_page").value == 1
    assert any(f"(filtered from {len(runs)})" in caption.value for caption in app.caption)
    app.text_input(key="compare_table_filter").set_value("student 2").run()
    assert len(app.dataframe[0].value) == len(runs) // 3
    app.text_input(key="compare_table_filter").set_value("nobody").run()
    assert app.dataframe[0].value.empty
    assert not app.exception


def test_compare_reads_the_predictions_of_a_few_runs_not_of_every_run(tmp_path, monkeypatch, mnist):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    make_finished_run(store, LogregSettings().to_dict(), mnist.y_test, 0.08, 0, "baseline")
    for seed in range(1, 12):
        make_finished_run(store, NETWORK_CONFIG, mnist.y_test, 0.01 * seed, seed, f"net {seed}")
    read = set()
    load_predictions = ev.load_predictions

    def counted(run):
        read.add(run.id)
        return load_predictions(run)

    monkeypatch.setattr(ev, "load_predictions", counted)
    app = open_page("compare")
    assert not app.exception
    # The network and the baseline, three checked runs, five judges of the labels.
    assert 2 <= len(read) <= 7, read


def test_a_summary_follows_renames_evaluations_and_a_worker_that_ends(tmp_path, mnist):
    store = RunStore(tmp_path)
    (run,) = ended_runs(store, 1)
    assert summary(run)["name"] == "run 0" and summary(run)["test_accuracy"] is None
    store.rename(run.id, "renamed")
    assert summary(run)["name"] == "renamed"
    write_evaluation(run, mnist.y_test[:100], fake_probabilities(mnist.y_test[:100], 0.0, 1))
    assert summary(run)["test_accuracy"] == 1.0
    ev_file = run.file(ev.EVALUATION_FILE)
    ev_file.write_text('{"test_accuracy": ')
    assert summary(run)["state"] == "damaged"

    worker = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    live = store.create(NETWORK_CONFIG, name="live")
    live.update_status(state="running", pid=worker.pid, pid_start=process_start_time(worker.pid))
    assert summary(live)["state"] == "running"
    worker.communicate(b"\n")
    assert summary(live)["state"] == "interrupted", "a live run is never read from the kept ones"

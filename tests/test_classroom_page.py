"""AppTest of the Class page: every student's runs, the leaderboard, who trains, CSV, the chart."""

import io
import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_evaluate_page import NETWORK_CONFIG, make_finished_run

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.classroom.live_view import REFRESH_SECONDS
from mnist_lab.execution.queue_entry import enqueue
from mnist_lab.ownership import TEACHER_KEY_ENV
from mnist_lab.processes import process_start_time
from mnist_lab.runs import CONFIG_FILE, RunStore

PAGE = Path(__file__).resolve().parents[1] / "pages" / "classroom.py"


@pytest.fixture
def class_runs(tmp_path, monkeypatch, mnist):
    """Ada's two runs, Bob's one, Cy training now, and a run nobody owns with a formula name."""
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    made = {}
    for owner, name, rate, error_rate in (
        ("Ada", "slow", 0.0001, 0.08),
        ("Ada", "good", 0.001, 0.02),
        ("Bob", "bold", 0.1, 0.05),
        (None, "=HYPERLINK(1)", 0.01, 0.1),
    ):
        config = NETWORK_CONFIG | {"learning_rate": rate}
        run = make_finished_run(store, config, mnist.y_test, error_rate, 1, name)
        if owner:
            run.write_json(CONFIG_FILE, dict(run.config(), owner=owner))
        made[name] = run
    live = store.create(NETWORK_CONFIG, name="cy's cnn", owner="Cy")
    pid = os.getpid()
    live.update_status(
        state="running", pid=pid, pid_start=process_start_time(pid), progress=0.25, position="1/4"
    )
    return made


def open_page(teacher: bool | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    if teacher is not None:
        app.session_state["identity_teacher"] = teacher
    return app.run()


def test_the_page_shows_every_student_the_leaderboard_and_who_trains(class_runs):
    app = open_page()
    assert not app.exception
    assert [metric.value for metric in app.metric] == ["4", "5", "1"]
    board = app.dataframe[1].value
    assert board["Student"].tolist() == ["Ada", "Bob", "(no name)"]
    assert board["Best run"].tolist() == ["good", "bold", "=HYPERLINK(1)"]
    assert board["Runs"].tolist() == ["2", "1", "1"]
    live = app.dataframe[0].value
    assert live[["student", "name", "progress"]].values.tolist() == [["Cy", "cy's cnn", 0.25]]
    every = app.dataframe[2].value
    assert sorted(every["Student"]) == ["(no name)", "Ada", "Ada", "Bob", "Cy"]

    traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    assert [trace["name"] for trace in traces] == ["(no name)", "Ada", "Bob"]
    ada = traces[1]
    assert sorted(ada["text"]) == ["good", "slow"]
    assert json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]["type"] == "log"


@pytest.fixture
def refresh_periods(monkeypatch):
    """The ``run_every`` of every fragment the page draws, in order."""
    periods = []

    def fragment(function=None, *, run_every=None):
        periods.append(run_every)
        return real(function, run_every=run_every) if function else real(run_every=run_every)

    real = st.fragment
    monkeypatch.setattr(st, "fragment", fragment)
    return periods


def test_the_live_parts_redraw_themselves_while_a_run_trains(class_runs, refresh_periods):
    app = open_page()
    assert refresh_periods == [REFRESH_SECONDS]
    assert [metric.value for metric in app.metric][2] == "1"
    cy = RunStore().list()[0]
    assert cy.name == "cy's cnn"
    cy.update_status(state="finished", progress=1.0, message="Done.")
    app.run()
    assert not app.exception
    # The run's end shows, and with nothing live the timer goes away.
    assert [metric.value for metric in app.metric][2] == "0"
    assert "Nobody is training right now." in [caption.value for caption in app.caption]
    assert refresh_periods[-1] is None


def test_the_results_download_as_csv_safe_for_spreadsheets(class_runs):
    app = open_page()
    button = app.get("download_button")[0]
    assert button.proto.label == "Download results (CSV)"
    from dashboard.ui.classroom.class_view import results_csv, with_students
    from dashboard.ui.runs.runs_view import runs_table

    csv = pd.read_csv(io.StringIO(results_csv(with_students(runs_table(RunStore())))))
    assert len(csv) == 5 and csv.columns[0] == "student"
    assert "'=HYPERLINK(1)" in csv["name"].tolist(), "a formula is quoted, not run"
    ada = csv[csv["student"] == "Ada"].sort_values("learning_rate")
    assert ada["learning_rate"].tolist() == [0.0001, 0.001]
    assert ada["test_accuracy"].iloc[1] > ada["test_accuracy"].iloc[0]


def test_with_a_teacher_key_only_the_teacher_sees_the_class(class_runs, monkeypatch):
    monkeypatch.setenv(TEACHER_KEY_ENV, "owl-42")
    student = open_page(teacher=False)
    assert not student.exception and not student.dataframe
    assert "teacher key" in student.info[0].value
    teacher = open_page(teacher=True)
    assert not teacher.exception and len(teacher.dataframe) == 3


def test_the_teacher_sees_the_queue_and_reorders_and_cancels_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    # No dispatcher: showing the queue would start one, and it would train the runs.
    monkeypatch.setattr("mnist_lab.execution.dispatcher.ensure_dispatcher", lambda store: None)
    store = RunStore(tmp_path)
    waiting = {}
    for owner, name in (("Ada", "first"), ("Ada", "second"), ("Bob", "bob's")):
        run = store.create(NETWORK_CONFIG, name=name, owner=owner)
        enqueue(run, 1)
        run.update_status(expected_training_s=30.0)
        waiting[name] = run
        time.sleep(0.002)  # ids are stamped to the millisecond: keep launch order
    app = open_page()
    assert not app.exception
    queue = app.dataframe[0].value
    # Round robin: Bob's only run goes before Ada's second.
    assert queue["name"].tolist() == ["first", "bob's", "second"]
    assert queue["starts"].tolist() == ["next", "in about 30s", "in about 1m 00s"]

    app.selectbox(key="classroom_queue_run").set_value(waiting["second"].id).run()
    app.button(key="classroom_queue_first").click().run()
    assert not app.exception
    assert app.dataframe[0].value["name"].tolist() == ["second", "first", "bob's"]

    app.selectbox(key="classroom_queue_run").set_value(waiting["bob's"].id).run()
    app.button(key="classroom_queue_cancel").click().run()
    # The name shows as typed: escaped for markdown, never rendered.
    shown = plain_markdown(waiting["bob's"].name)
    assert f"Cancelled “{shown}”: it leaves" in app.info[0].value
    assert waiting["bob's"].stop_requested()
    # Gone from the queue at once, before the dispatcher's next pass.
    assert app.dataframe[0].value["name"].tolist() == ["second", "first"]

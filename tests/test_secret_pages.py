"""While an assignment hides test digits, Train, the MNIST table, Sweeps, Lessons and exports
score runs on the visible part only, say so, and score the whole split again once it closes."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.lessons.held_out_view import lab_runs
from mnist_lab import mnist_table
from mnist_lab.assignments.secrecy import secret_parts
from mnist_lab.assignments.store import AssignmentStore, Goal
from mnist_lab.data import EMBEDDED_SHA256
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.export import export_run
from mnist_lab.lessons.results import RunResult
from mnist_lab.runs import RunStore
from mnist_lab.sweeps.driver import test_accuracy as trial_accuracy
from mnist_lab.sweeps.results import trial_rows
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore, Trial
from tests.test_assignments import RECIPE
from tests.test_mnist_table import train_row
from tests.test_secrecy import accuracy_on

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
TITLE = "Reach <b>50%</b>"
CAPTION = (
    "Scored on the 5,000 of 10,000 test digits students can see: the assignment "
    f"'{TITLE}' keeps the others hidden until it ends."
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A sweep of two real NumPy runs (1,000 digits, one epoch) and a k-NN row of the table."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    knn = train_row(store, "knn-l2", 1000)
    declared = NumpyNetSettings.declared()
    definition = SweepDefinition(
        engine="numpy",
        base=RECIPE,
        parameters=[parse_parameter("hidden_units=20,40", declared)],
        name="widths",
    )
    sweep = SweepStore(store).create(definition)
    for point, width in enumerate((20, 40)):
        params = {"hidden_units": width}
        run = store.create(
            definition.trial_config(params, repeat=0, sweep_id=sweep.id, point=point)
        )
        assert run_worker(run.path) == "finished"
        sweep.add_trial(Trial(run.id, point, 0, params))
    sweep.update(state="finished", message="Done.")
    return store, sweep, knn


@pytest.fixture
def secret(lab):
    """An open assignment on MNIST while the test runs, closed after it: the visible digits."""
    store = lab[0]
    assignments = AssignmentStore(store)
    deadline = datetime.now(UTC) + timedelta(days=1)
    assignment = assignments.create(TITLE, Goal("accuracy", 0.5), deadline=deadline)
    yield ~assignment.hidden_part()
    assignments.set_closed(assignment.id, True)


def close_all(store):
    assignments = AssignmentStore(store)
    for assignment in assignments.list():
        assignments.set_closed(assignment.id, True)


def open_page(monkeypatch, store, page: str) -> AppTest:
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(store.root))
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception
    return app


def captions(app: AppTest) -> list[str]:
    return [caption.value for caption in app.caption]


def test_the_train_pages_result_is_the_visible_parts_while_secret(lab, secret, monkeypatch):
    store, sweep, _ = lab
    run = sweep.runs()[0]
    app = open_page(monkeypatch, store, "train.py")
    app.selectbox(key="train_watch").set_value(run.id).run()
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Test accuracy"] == f"{accuracy_on(run, secret):.2%}"
    assert metrics["Test accuracy"] != f"{run.evaluation()['test_accuracy']:.2%}"
    assert plain_markdown(CAPTION) in captions(app)
    assert "%" not in run.status()["message"], "no whole-split score beside the visible one"

    close_all(store)
    app.run()
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Test accuracy"] == f"{run.evaluation()['test_accuracy']:.2%}"
    assert plain_markdown(CAPTION) not in captions(app)


def test_a_run_whose_score_cannot_be_cut_shows_why_on_train(monkeypatch, tmp_path):
    store = RunStore(tmp_path / "runs")
    run = train_row(store, "knn-l2", 1000)
    AssignmentStore(store).create(
        TITLE, Goal("accuracy", 0.5), deadline=datetime.now(UTC) + timedelta(days=1)
    )
    run.file("predictions.npz").unlink()
    app = open_page(monkeypatch, store, "train.py")
    assert "Test accuracy" not in [metric.label for metric in app.metric]
    assert "No test scores for this run" in app.info[0].value


def test_the_mnist_table_shows_the_visible_error_while_secret(lab, secret, monkeypatch):
    store, _, knn = lab
    visible_error = 1 - accuracy_on(knn, secret)
    best = {entry.row.key: entry for entry in mnist_table.table(store, 1000)}["knn-l2"].best
    assert best.test_error == pytest.approx(visible_error) and best.n_test == 5000
    assert best.scored_on == CAPTION
    app = open_page(monkeypatch, store, "table.py")
    app.selectbox(key="table_subset").set_value(1000).run()
    rows = app.dataframe[0].value
    row = rows.iloc[[r.key for r in mnist_table.ROWS].index("knn-l2")]
    assert row["Lab"] == mnist_table.format_error(visible_error)
    assert plain_markdown(CAPTION) in captions(app)

    close_all(store)
    best = {entry.row.key: entry for entry in mnist_table.table(store, 1000)}["knn-l2"].best
    assert best.test_error == pytest.approx(1 - knn.evaluation()["test_accuracy"])
    assert best.scored_on is None and best.n_test == 10_000
    app.run()
    assert plain_markdown(CAPTION) not in captions(app)


def test_a_sweep_ranks_and_shows_its_trials_on_the_visible_part(lab, secret, monkeypatch):
    store, sweep, _ = lab
    visible = {run.id: accuracy_on(run, secret) for run in sweep.runs()}
    rows = trial_rows(sweep)
    assert {row["run"]: row["test_accuracy"] for row in rows} == pytest.approx(visible)
    assert {row["scored_on"] for row in rows} == {CAPTION}
    assert trial_accuracy(sweep.runs()[0]) == pytest.approx(visible[sweep.runs()[0].id])
    app = open_page(monkeypatch, store, "sweeps.py")
    shown = sorted(app.dataframe[0].value["Test accuracy"].str.strip())
    assert shown == sorted(f"{accuracy:.2%}" for accuracy in visible.values())
    assert plain_markdown(CAPTION) in captions(app)

    close_all(store)
    rows = trial_rows(sweep)
    whole = {run.id: run.evaluation()["test_accuracy"] for run in sweep.runs()}
    assert {row["run"]: row["test_accuracy"] for row in rows} == pytest.approx(whole)
    assert {row["scored_on"] for row in rows} == {None}
    app.run()
    assert plain_markdown(CAPTION) not in captions(app)


def test_lessons_read_the_visible_part_while_secret(lab, secret, monkeypatch):
    store, sweep, _ = lab
    run = sweep.runs()[0]
    result = RunResult.from_run(run)
    assert result.test_accuracy == pytest.approx(accuracy_on(run, secret))
    assert result.n_test == 5000 and result.scored_on == CAPTION
    assert result.mistakes == round((1 - accuracy_on(run, secret)) * 5000)
    # The held-out lesson cuts only the visible digits: its two parts of the whole split
    # would add up to each run's whole score.
    app = open_page(monkeypatch, store, "lessons.py")
    app.selectbox(key="lessons_pick").set_value("held-out").run()
    assert not app.exception
    lesson_caption = f"The lab's runs: {CAPTION} This lesson cuts those digits in two."
    assert plain_markdown(lesson_caption) in captions(app)
    picked = lab_runs(store, 10_000, secret_parts(store.root)[EMBEDDED_SHA256])
    assert picked.n_visible + picked.n_hidden == 5000
    both = (picked.visible * picked.n_visible + picked.hidden * picked.n_hidden) / 5000
    assert dict(zip(picked.names, both, strict=True))[run.name] == pytest.approx(
        accuracy_on(run, secret)
    )

    close_all(store)
    result = RunResult.from_run(run)
    assert result.test_accuracy == run.evaluation()["test_accuracy"]
    assert result.n_test == 10_000 and result.scored_on is None


def test_exported_code_quotes_the_visible_accuracy_while_secret(lab, secret):
    store, sweep, _ = lab
    run = sweep.runs()[0]
    whole = f"{run.evaluation()['test_accuracy']:.4f}"
    script = export_run(run, "script")
    visible = f"{accuracy_on(run, secret):.4f} on the 5,000 test digits students can see"
    assert visible in " ".join(script.split()) and whole not in script
    close_all(store)
    script = export_run(run, "script")
    assert f"test accuracy of {whole};" in " ".join(script.split())

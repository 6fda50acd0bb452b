"""AppTest of the Lessons page: start a lesson, watch its runs, read a finished one's verdict."""

import numpy as np
from test_lessons import finish_with_costs
from test_playground_page import open_page

from mnist_lab.evaluation import write_evaluation
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.lessons.catalogue import get_lesson
from mnist_lab.lessons.runner import create_lesson_runs
from mnist_lab.runs import RunStore

ACCURACY = {"logreg": 0.89, "mlp": 0.91, "cnn": 0.93}


def finish_fake(run, accuracy: float) -> None:
    """Write what a finished run leaves behind: epoch metrics, an evaluation, the state."""
    for epoch in (1, 2):
        run.append_metrics(
            {
                "kind": "epoch",
                "epoch": epoch,
                "loss": 0.5 / epoch,
                "accuracy": accuracy,
                "val_loss": 0.6 / epoch,
                "val_accuracy": accuracy - 0.02,
            }
        )
    # A complete evaluation (pages refuse a partial one as damaged): exactly that share right.
    labels = np.arange(10_000) % 10
    predicted = np.where(
        np.arange(10_000) < round((1 - accuracy) * 10_000), (labels + 1) % 10, labels
    )
    write_evaluation(run, labels, np.eye(10)[predicted])
    run.update_status(state="finished", progress=1.0, message="Finished.")


def test_start_a_lesson_and_see_its_runs_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    launched = []
    monkeypatch.setattr(LocalExecutor, "launch", lambda executor, run: launched.append(run) or 0)
    app = open_page("lessons.py")
    app.selectbox(key="lessons_pick").set_value("learning-rate").run()
    assert "Not run yet" in app.info[0].value
    app.button(key="lessons_start").click().run()
    assert not app.exception
    assert [run.name for run in launched] == [r.name for r in get_lesson("learning-rate").runs]
    assert app.button(key="lessons_start").disabled, "no second start while runs are live"
    shown = [markdown.value for markdown in app.markdown]
    assert all(f"**{run.name}**" in shown for run in launched)
    assert len(app.get("progress")) == 3


def test_a_finished_lesson_shows_its_explanation_and_chart(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    lesson = get_lesson("models")
    runs = create_lesson_runs(RunStore(tmp_path), lesson, owner="Ada")
    assert {run.owner for run in runs} == {"Ada"}
    for lesson_run, run in zip(lesson.runs, runs, strict=True):
        finish_fake(run, ACCURACY[lesson_run.step])
    app = open_page("lessons.py")
    app.selectbox(key="lessons_pick").set_value("models").run()
    assert not app.exception
    assert app.success[-1].value.startswith("Ranking on the test set: CNN (93.0%) > MLP (91.0%)")
    assert any("200 fewer mistakes" in markdown.value for markdown in app.markdown)
    assert app.button(key="lessons_start").label == "Run it again"
    assert len(app.get("plotly_chart")) == 2, "learning curves and the comparison"


def test_the_deep_learning_lesson_shows_its_costs(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    lesson = get_lesson("deep-learning")
    runs = create_lesson_runs(RunStore(tmp_path), lesson, owner="Ada")
    for run, accuracy, seconds in zip(runs, (0.93, 0.88, 0.965), (3, 5, 42), strict=True):
        finish_with_costs(run, accuracy, seconds=seconds, predict_s=1.0)
    app = open_page("lessons.py")
    app.selectbox(key="lessons_pick").set_value("deep-learning").run()
    assert not app.exception
    assert app.success[-1].value.startswith("The CNN makes 350 fewer mistakes than k-NN")
    assert any("trained in 41.0 s" in markdown.value for markdown in app.markdown)

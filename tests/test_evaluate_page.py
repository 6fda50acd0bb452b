"""AppTest of the Evaluate page on runs written by hand: a fake network, a fake baseline, damage."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.evaluate.figures.evaluation import clicked_cell, probability_gallery_figure
from mnist_lab.assignments.secrecy import secret_parts
from mnist_lab.assignments.store import AssignmentStore, Goal
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.evaluation import EVALUATION_FILE, cell_indices, write_evaluation
from mnist_lab.preprocess import fit_normalizer, save_normalizer
from mnist_lab.processes import process_start_time
from mnist_lab.runs import CONFIG_FILE, TENSORBOARD_DIR, RunStore
from mnist_lab.status import STATUS_FILE

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "evaluate.py"
NETWORK_CONFIG = {
    "engine": "keras",
    "label": "mlp-small",
    "optimizer": "adam",
    "learning_rate": 0.001,
    "normalization": "scale",
    "epochs": 3,
    "batch_size": 128,
}


def fake_probabilities(y_true: np.ndarray, error_rate: float, seed: int) -> np.ndarray:
    """Probabilities that predict ``y_true`` except on a random share, which goes to y+1."""
    rng = np.random.default_rng(seed)
    predicted = np.where(rng.random(len(y_true)) < error_rate, (y_true + 1) % 10, y_true)
    confidence = rng.uniform(0.4, 0.99, len(y_true))
    probabilities = np.repeat(((1 - confidence) / 9)[:, None], 10, axis=1)
    probabilities[np.arange(len(y_true)), predicted] = confidence
    return probabilities


def make_finished_run(store, config, y_true, error_rate, seed, name):
    """A finished run with metrics and an evaluation, as an engine would leave it."""
    run = store.create(config, name=name)
    for epoch in range(1, 4):
        run.append_metrics(
            {"kind": "epoch", "epoch": epoch, "loss": 1 / epoch, "accuracy": 1 - 0.1 / epoch}
            | ({"val_loss": 1.1 / epoch, "val_accuracy": 1 - 0.12 / epoch} if seed else {})
        )
    write_evaluation(run, y_true, fake_probabilities(y_true, error_rate, seed))
    run.update_status(
        state="finished",
        started="2024-01-01T10:00:00+00:00",
        ended="2024-01-01T10:01:30+00:00",
        message="Done.",
    )
    return run


@pytest.fixture
def runs(tmp_path, monkeypatch, mnist):
    """A runs directory with a fake baseline (8% wrong) and a newer fake network (3% wrong)."""
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    baseline_config = LogregSettings().to_dict()
    baseline = make_finished_run(store, baseline_config, mnist.y_test, 0.08, 0, "baseline")
    network = make_finished_run(store, NETWORK_CONFIG, mnist.y_test, 0.03, 1, "My <b>net</b>")
    return store, network, baseline


def open_page(query_run: str | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    if query_run:
        app.query_params["run"] = query_run
    return app.run()


def metric_values(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_shows_the_newest_run_with_its_accuracy_next_to_the_baseline(runs):
    _, network, baseline = runs
    app = open_page()
    assert not app.exception
    assert app.selectbox(key="evaluate_run").value == network.id
    metrics = metric_values(app)
    assert metrics["Test accuracy"] == f"{network.evaluation()['test_accuracy']:.2%}"
    assert metrics["Baseline accuracy"] == f"{baseline.evaluation()['test_accuracy']:.2%}"
    assert app.metric[0].delta.endswith("points")
    # Confusion matrix, gallery and reliability diagram (runs without a model: no saliency).
    assert len(app.get("plotly_chart")) == 3
    per_digit = next(frame.value for frame in app.dataframe if "precision" in frame.value)
    # Shown in points, two decimals each, not as fractions.
    assert per_digit["recall"].between(90, 100).all()


def test_query_parameter_picks_the_run(runs):
    _, _, baseline = runs
    app = open_page(baseline.id)
    assert not app.exception
    assert app.selectbox(key="evaluate_run").value == baseline.id
    assert "Baseline accuracy" not in metric_values(app)


def test_cell_fallback_shows_exactly_that_cell_most_confident_first(runs, mnist):
    _, network, _ = runs
    app = open_page()
    app.selectbox(key="evaluate_true").set_value(3)
    app.selectbox(key="evaluate_pred").set_value(4).run()
    assert not app.exception
    probabilities = fake_probabilities(mnist.y_test, 0.03, 1)
    y_pred = probabilities.argmax(axis=1)
    expected = cell_indices(mnist.y_test, y_pred, 3, 4, probabilities.max(axis=1))
    assert len(expected) > 0 and np.all(mnist.y_test[expected] == 3)
    caption = next(c.value for c in app.caption if "Showing:" in c.value)
    assert caption.startswith(f"{len(expected)} test images")
    shown = [int(part.strip(" #")) for part in caption.split("Showing:")[1].split(",")]
    assert shown == expected[:16].tolist()
    assert np.all(y_pred[shown] == 4)


def test_any_digit_filters_only_mistakes(runs, mnist):
    app = open_page()
    app.selectbox(key="evaluate_true").set_value(7).run()
    caption = next(c.value for c in app.caption if "Showing:" in c.value)
    shown = [int(part.strip(" #")) for part in caption.split("Showing:")[1].split(",")]
    assert all(mnist.y_test[i] == 7 for i in shown)
    y_pred = fake_probabilities(mnist.y_test, 0.03, 1).argmax(axis=1)
    assert all(y_pred[i] != 7 for i in shown)


def test_the_gallery_puts_each_digit_beside_its_bars_under_its_title():
    """Five digits in rows of four: square pixels, bars from 0 to 1, titles above, three empty."""
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), 5)
    y_true = np.array([3, 1, 4, 1, 5])
    figure = probability_gallery_figure(
        rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), probabilities, y_true
    )
    layout = figure.layout
    assert [trace.type for trace in figure.data] == ["heatmap", "bar"] * 5
    images, bars = figure.data[::2], figure.data[1::2]
    for image, bar in zip(images, bars, strict=True):
        x, y = layout[image.xaxis.replace("x", "xaxis")], layout[image.yaxis.replace("y", "yaxis")]
        assert y.scaleanchor == image.xaxis and y.autorange == "reversed" and not x.visible
        assert list(layout[bar.yaxis.replace("y", "yaxis")].range) == [0, 1]
        # The bars sit right of their digit, on the same row.
        assert layout[bar.xaxis.replace("x", "xaxis")].domain[0] > x.domain[1]
        assert layout[bar.yaxis.replace("y", "yaxis")].domain == y.domain
    predicted = probabilities.argmax(axis=1)
    titles = [annotation.text for annotation in layout.annotations]
    assert titles == [
        f"true {t} → {p} ({probabilities[n, p]:.0%})"
        for n, (t, p) in enumerate(zip(y_true, predicted, strict=True))
    ]
    # Each title sits on top of its digit's row, centred over the digit and its bars.
    first_row = layout[images[0].yaxis.replace("y", "yaxis")].domain
    assert layout.annotations[0].y == first_row[1] and layout.annotations[0].yanchor == "bottom"
    # Two rows of eight cells (digit, bars) each; the last three pairs stay empty.
    assert layout.xaxis16.domain[1] == 1 and layout.yaxis16.domain[0] == 0
    assert layout.height == 2 * 170


def test_clicked_cell_reads_the_marker_position():
    event = {"selection": {"points": [{"x": 4, "y": 3, "curve_number": 1, "point_index": 34}]}}
    assert clicked_cell(event) == (3, 4)
    assert clicked_cell({"selection": {"points": []}}) is None
    assert clicked_cell(None) is None


@pytest.mark.parametrize(
    ("file_name", "content"),
    [(CONFIG_FILE, None), (STATUS_FILE, '{"state": "fin'), (EVALUATION_FILE, "")],
)
def test_damaged_run_is_listed_as_damaged_and_others_stay_usable(runs, file_name, content):
    store, network, _ = runs
    damaged = make_finished_run(store, NETWORK_CONFIG, np.arange(10) % 10, 0.0, 2, "broken")
    if content is None:
        damaged.file(file_name).unlink()
    else:
        damaged.file(file_name).write_text(content)
    app = open_page(damaged.id)
    assert not app.exception
    picker = app.selectbox(key="evaluate_run")
    assert picker.value == damaged.id
    assert "damaged" in picker.format_func(damaged.id)
    assert "damaged" in app.warning[0].value
    picker.set_value(network.id).run()
    assert not app.exception
    assert app.metric[0].value == f"{network.evaluation()['test_accuracy']:.2%}"


def test_runs_without_evaluation_say_why(runs):
    store, _, _ = runs
    live = store.create(NETWORK_CONFIG, name="live")
    pid = os.getpid()
    live.update_status(state="running", pid=pid, pid_start=process_start_time(pid), progress=0.4)
    failed = store.create(NETWORK_CONFIG, name="failed")
    failed.update_status(state="failed", message="MemoryError: out of memory")
    app = open_page(live.id)
    assert not app.exception
    assert "still running (40% done)" in app.warning[0].value
    app.selectbox(key="evaluate_run").set_value(failed.id).run()
    assert "failed" in app.warning[0].value and "out of memory" in app.warning[0].value


def test_no_runs_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = open_page()
    assert not app.exception
    assert "No runs yet" in app.info[0].value


def test_offers_the_run_as_code_and_the_tensorboard_command(runs):
    _, network, _ = runs
    captions = " ".join(caption.value for caption in open_page(network.id).caption)
    assert f"No code to download: run {network.id} has not fitted its normalization" in captions
    save_normalizer(network, fit_normalizer("scale", np.zeros((2, 28, 28), dtype=np.uint8)))
    network.file(TENSORBOARD_DIR).mkdir()
    app = open_page(network.id)
    assert not app.exception
    labels = [button.label for button in app.get("download_button")]
    assert "Python script (.py)" in labels and "Jupyter notebook (.ipynb)" in labels
    assert any(f"{network.id}/{TENSORBOARD_DIR}" in code.value for code in app.code)


def test_an_open_assignment_scores_every_figure_on_the_visible_digits_only(runs, mnist):
    store, network, baseline = runs
    assignments = AssignmentStore(store)
    assignment = assignments.create(
        "Hidden <i>half</i>", Goal("accuracy", 0.9), deadline=datetime.now(UTC) + timedelta(days=1)
    )
    visible = ~assignment.hidden_part()
    probabilities = fake_probabilities(mnist.y_test, 0.03, 1)
    y_pred = probabilities.argmax(axis=1)

    app = open_page()
    app.selectbox(key="evaluate_true").set_value(3)
    app.selectbox(key="evaluate_pred").set_value(4).run()
    assert not app.exception
    on_part = np.mean(y_pred[visible] == mnist.y_test[visible])
    assert metric_values(app)["Test accuracy"] == f"{on_part:.2%}"
    base = fake_probabilities(mnist.y_test, 0.08, 0).argmax(axis=1)
    base_on_part = np.mean(base[visible] == mnist.y_test[visible])
    assert metric_values(app)["Baseline accuracy"] == f"{base_on_part:.2%}"
    (part,) = secret_parts(store.root).values()
    assert part.describe().startswith("Scored on the 5,000 of 10,000 test digits")
    assert "'Hidden <i>half</i>'" in part.describe()
    assert plain_markdown(part.describe()) in [info.value for info in app.info]
    # The gallery names digits by their place in the whole split, and only visible ones.
    expected = cell_indices(mnist.y_test, y_pred, 3, 4, probabilities.max(axis=1))
    expected = expected[visible[expected]]
    caption = next(c.value for c in app.caption if "Showing:" in c.value)
    assert caption.startswith(f"{len(expected)} test images")
    shown = [int(part.strip(" #")) for part in caption.split("Showing:")[1].split(",")]
    assert shown == expected[:16].tolist() and visible[shown].all()
    per_class = next(frame.value for frame in app.dataframe if "precision" in frame.value)
    assert per_class["support"].sum() == 5000

    assignments.set_closed(assignment.id, True)
    app = open_page()
    assert metric_values(app)["Test accuracy"] == f"{network.evaluation()['test_accuracy']:.2%}"
    assert plain_markdown(part.describe()) not in [info.value for info in app.info]

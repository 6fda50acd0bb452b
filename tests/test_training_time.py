"""One training time for one run: Train, Compare, Home and the MNIST table show the same number."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_evaluate_page import NETWORK_CONFIG, fake_probabilities

from dashboard.ui.train.training_view import format_seconds
from mnist_lab import records
from mnist_lab.evaluation import write_evaluation
from mnist_lab.mnist_table import reproduction_of
from mnist_lab.run_summary import TRAINING_TIME_HELP, summary, training_time
from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
# The loop trained 12.34 s; the worker lived 45 s (start, data, evaluation included).
LOOP_S, WORKER_S = 12.34, 45


@pytest.fixture
def trained(tmp_path, monkeypatch, mnist):
    """A finished run whose epochs took 12.34 s of the worker's 45 s."""
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    run = RunStore(tmp_path).create(NETWORK_CONFIG, name="timed")
    for epoch in range(1, 4):
        run.append_metrics(
            {"kind": "epoch", "epoch": epoch, "loss": 1 / epoch, "elapsed_s": LOOP_S * epoch / 3}
        )
    # Records after the last epoch (histograms) do not hide its time.
    run.append_metrics({"kind": "histograms", "epoch": 3, "layers": []})
    write_evaluation(run, mnist.y_test, fake_probabilities(mnist.y_test, 0.03, 1))
    run.update_status(
        state="finished",
        started="2024-01-01T10:00:00+00:00",
        ended=f"2024-01-01T10:00:{WORKER_S}+00:00",
        message="Done.",
    )
    return run


def test_the_training_time_is_the_loops_own_time(trained):
    assert training_time(trained) == 12.3
    assert summary(trained)["training_s"] == 12.3
    assert reproduction_of(trained).training_s == 12.3


def test_without_records_it_is_the_status_times_less_the_predictions(trained):
    trained.file(records.METRICS_FILE).unlink()
    assert training_time(trained) == WORKER_S
    assert training_time(trained, evaluation={"predict_seconds": 5.0}) == WORKER_S - 5


def test_train_compare_and_home_show_the_same_time(trained):
    train = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=60).run()
    assert not train.exception
    [metric] = [metric for metric in train.metric if metric.label == "Training time"]
    assert metric.value == format_seconds(12.3) and metric.proto.help.startswith(TRAINING_TIME_HELP)
    for page in (ROOT / "pages" / "compare.py", ROOT / "dashboard" / "Home.py"):
        app = AppTest.from_file(str(page), default_timeout=60).run()
        assert not app.exception
        column = app.dataframe[0].value["Training time (s)"]
        assert column.str.strip().tolist() == ["12.3"], page.name

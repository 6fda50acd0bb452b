"""The Train page's progress line (epochs, or L-BFGS iterations), a queued run's place, tabs."""

from streamlit.testing.v1 import AppTest

from dashboard.ui.train.training_view import (
    GLANCE_REFRESH_SECONDS,
    REFRESH_SECONDS,
    WINDOW_TAB,
    progress_text,
    queue_place_text,
    refresh_seconds,
)
from mnist_lab import records
from mnist_lab.execution.fair_queue import QueuePlace
from mnist_lab.runs import RunStore
from tests.test_curves import epoch


def test_a_network_run_counts_epochs_with_eta_and_throughput():
    status = {"state": "running", "position": "epoch 2/5", "progress": 0.4, "eta_s": 65}
    status["samples_per_s"] = 12345.6
    assert progress_text(status) == "epoch 2/5 · 40% · ETA 1m 05s · 12,346 samples/s"


def test_a_baseline_counts_iterations_not_epochs():
    status = {"state": "finished", "position": "113 L-BFGS iterations", "progress": 1.0}
    assert progress_text(status) == "113 L-BFGS iterations · 100%"


def test_a_queued_run_says_its_place_and_expected_start(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    assert queue_place_text(QueuePlace(run, 2, 185.0), 4) == (
        "2nd of 4 in the queue: expected to start in about 3m 05s."
    )
    assert queue_place_text(QueuePlace(run, 1, 0.0), 1) == "1st of 1 in the queue: next to start."
    assert "start time is unknown" in queue_place_text(QueuePlace(run, 3, None), 3)


def test_only_ones_own_live_run_redraws_every_second():
    assert refresh_seconds("running", own=True) == refresh_seconds("queued", own=True) == 1.0
    assert REFRESH_SECONDS == 1.0
    # A classmate's: thirty sessions watching one run must not each redraw it every second.
    assert refresh_seconds("running", own=False) == GLANCE_REFRESH_SECONDS
    assert refresh_seconds("finished", own=True) is None


def curve_panel(run_dir: str) -> None:
    """The live curves of one run, as the Train page draws them."""
    from dashboard.ui.train.training_view import render_curves
    from mnist_lab.runs import Run

    render_curves(Run(run_dir))


def open_curves(app: AppTest) -> set[str]:
    """Which granularities the open tab draws (only the open tab runs)."""
    return {
        name
        for chart in app.get("plotly_chart")
        for name in ("epoch", "step")
        if f"train_curve_{name}_" in chart.proto.id
    }


def test_the_open_curve_tab_stays_open_when_the_first_epoch_ends(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    for step in (10, 20):
        run.append_metrics(
            records.batch_record(
                epoch=1,
                step=step,
                window_steps=10,
                loss=2.3,
                accuracy=0.1,
                lr=0.1,
                samples_per_s=1.0,
            )
        )
    app = AppTest.from_function(curve_panel, args=(str(run.path),), default_timeout=60).run()
    assert not app.exception and open_curves(app) == {"step"}, "windows first, until an epoch"
    # The first epoch ends (and with it come the hints): the student's tab stays open.
    run.append_metrics(epoch(1, 0.1, loss=2.3))
    app.run()
    assert not app.exception and open_curves(app) == {"step"}
    assert app.session_state["train_curve_tabs"] == WINDOW_TAB

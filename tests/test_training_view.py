"""The Train page's progress line (epochs, or L-BFGS iterations) and a queued run's place."""

from dashboard.ui.train.training_view import (
    GLANCE_REFRESH_SECONDS,
    REFRESH_SECONDS,
    progress_text,
    queue_place_text,
    refresh_seconds,
)
from mnist_lab.execution.fair_queue import QueuePlace
from mnist_lab.runs import RunStore


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

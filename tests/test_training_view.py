"""The Train page's progress line: epochs for networks, L-BFGS iterations for the baseline."""

from dashboard.ui.training_view import progress_text


def test_a_network_run_counts_epochs_with_eta_and_throughput():
    status = {"state": "running", "position": "epoch 2/5", "progress": 0.4, "eta_s": 65}
    status["samples_per_s"] = 12345.6
    assert progress_text(status) == "epoch 2/5 · 40% · ETA 1m 05s · 12,346 samples/s"


def test_a_baseline_counts_iterations_not_epochs():
    status = {"state": "finished", "position": "113 L-BFGS iterations", "progress": 1.0}
    assert progress_text(status) == "113 L-BFGS iterations · 100%"

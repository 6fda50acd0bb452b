"""The logistic-regression baseline: settings, chunked fitting, a real worker run, the CLI."""

import numpy as np
import pytest

from mnist_lab.cli.main import main
from mnist_lab.engines import find_baseline, get_engine
from mnist_lab.engines.logreg.fit import (
    WEIGHTS_FILE,
    fit_logistic,
    iterations_needed,
    largest_gradient,
    load_weights,
    outcome_of,
)
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.evaluation import load_probabilities
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import RunStore

SMALL = LogregSettings(subset=2000, max_iter=100, chunk_iterations=20)


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian clusters in 5 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return rng.normal(size=(n, 5)) + 4 * np.eye(3, 5)[y], y


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"C": 0.0}, r"C must be a number in \[0.0001, 10000\]"),
        ({"max_iter": 0}, r"max_iter must be a whole number in \[1, 10000\]"),
        ({"tol": 1.0}, r"tol must be a number in"),
        ({"normalization": "zscore"}, "normalization must be one of"),
        ({"subset": 5}, r"subset must be a whole number in \[100, 60000\]"),
        ({"seed": -1}, "seed must be"),
        ({"chunk_iterations": 0}, "chunk_iterations"),
    ],
)
def test_config_rejects_values_out_of_range(settings, message):
    with pytest.raises(ValueError, match=message):
        LogregSettings(**settings).validate()


def test_config_round_trips_through_the_run_config():
    config = LogregSettings(C=0.5, subset=1000)
    data = config.to_dict()
    assert data["engine"] == "sklearn" and data["label"] == "logreg-baseline"
    assert LogregSettings.from_dict(data | {"created": "now", "name": "x"}) == config


def test_chunked_fit_reports_progress_and_converges():
    x, y = blobs()
    seen = []
    result = fit_logistic(
        x,
        y,
        LogregSettings(max_iter=500, chunk_iterations=3, tol=1e-6),
        on_chunk=lambda chunk, iterations, model: seen.append((chunk, iterations)),
    )
    assert result.converged and not result.stopped and not result.warning
    assert [chunk for chunk, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][1] == result.iterations < 500
    assert np.mean(result.model.predict(x) == y) > 0.95


def test_the_largest_gradient_is_what_l_bfgs_stops_on():
    x, y = blobs()
    tol = 1e-3
    converged = fit_logistic(x, y, LogregSettings(max_iter=500, chunk_iterations=500, tol=tol))
    early = fit_logistic(x, y, LogregSettings(max_iter=2, chunk_iterations=2, tol=tol))
    model = converged.model
    assert largest_gradient(x, y, model.predict_proba(x), model.coef_, 1.0) <= tol
    model = early.model
    assert largest_gradient(x, y, model.predict_proba(x), model.coef_, 1.0) > tol


def test_iterations_needed_extrapolates_past_a_restart_bump():
    # Geometric decay by 10x every 25 iterations, then a chunk whose restart pushed it up.
    history = [(0, 0.1), (25, 1e-2), (50, 1e-3), (75, 2e-3)]
    assert iterations_needed(history, tol=1e-5, max_iter=500) == 100
    assert iterations_needed(history, tol=1e-2, max_iter=500) == 75
    # A gradient that never shrank gives no estimate but the cap.
    assert iterations_needed([(0, 0.1), (25, 0.2), (50, 0.3)], tol=1e-4, max_iter=500) == 500


def test_unconverged_fit_says_so_with_the_warning():
    x, y = blobs()
    result = fit_logistic(x, y, LogregSettings(max_iter=2, chunk_iterations=1, tol=1e-8))
    assert not result.converged and result.iterations == 2
    assert "failed to converge" in result.warning
    outcome = outcome_of(result, {"n_test": 10_000}, max_iter=2)
    assert outcome.state == "finished" and "Did NOT converge" in outcome.message


def test_stop_request_ends_the_fit_between_chunks():
    x, y = blobs()
    result = fit_logistic(
        x, y, LogregSettings(max_iter=500, chunk_iterations=1, tol=1e-8), should_stop=lambda: True
    )
    assert result.stopped and result.iterations == 1
    assert outcome_of(result, {"n_test": 10_000}, 500).state == "stopped"


def test_worker_fits_a_subset_and_leaves_a_complete_run(tmp_path, mnist):
    store = RunStore(tmp_path)
    run = store.create(SMALL.to_dict(), name="small baseline")
    assert run_worker(run.path) == "finished"
    status = run.status()
    assert status["progress"] == 1.0 and "evaluated on the 10,000 test" in status["message"]
    chunks = [r for r in run.metrics() if r["kind"] == "chunk"]
    assert chunks and chunks[-1]["iterations"] == status["iterations"]
    assert all(0 < r["loss"] and 0 < r["accuracy"] <= 1 for r in chunks)
    evaluation = run.evaluation()
    assert evaluation["n_test"] == 10_000 and evaluation["test_accuracy"] > 0.8
    coef, intercept, normalizer = load_weights(run)
    assert coef.shape == (10, 784) and intercept.shape == (10,) and normalizer.name == "scale"
    with np.load(run.file(WEIGHTS_FILE), allow_pickle=False) as archive:
        assert {"coef", "intercept"} <= set(archive.files)
    # Rebuilt from the saved weights, the predictions match the ones evaluated.
    np.testing.assert_allclose(
        get_engine("sklearn").predict_proba(run, mnist.x_test[:50]),
        load_probabilities(run)[:50],
        atol=1e-4,
    )
    assert get_engine("sklearn").predict_proba(run, mnist.x_test[0]).shape == (1, 10)
    assert store.find_finished(SMALL.to_dict()) == run
    assert store.find_finished(LogregSettings(subset=2000, max_iter=99).to_dict()) is None
    assert find_baseline(store) == run


def test_cli_fits_then_answers_from_the_stored_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    args = ["baseline", "--subset", "500", "--max-iter", "30", "--name", "cli"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "Training run" in first and "chunk 1" in first and "Test accuracy: 0." in first
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "Answered from stored run" in second and "Test accuracy: 0." in second
    assert len(RunStore(tmp_path).list()) == 1
    assert main([*args, "--force"]) == 0
    assert len(RunStore(tmp_path).list()) == 2


def test_cli_rejects_bad_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    assert main(["baseline", "--C", "-1"]) == 2
    assert "C must be a number in" in capsys.readouterr().err

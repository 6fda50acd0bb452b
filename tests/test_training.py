"""The Keras engine end to end on small subsets: a complete run, stop, divergence, prediction."""

import collections
import csv

import numpy as np
import pytest

from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.keras_net.training import load_trained_model, predict_proba, prepare_data
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import RunStore


def train(tmp_path, **settings):
    run = RunStore(tmp_path).create(KerasSettings(**settings).to_dict())
    return run, run_worker(run.path)


def test_prepare_data_fits_the_normalizer_on_the_training_split_only(mnist):
    data = prepare_data(
        KerasSettings(subset=1000, val_split=0.2, normalization="standardize"), mnist
    )
    assert data.x_train.shape == (800, 28, 28, 1) and data.x_val.shape == (200, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert abs(float(data.x_train.mean())) < 1e-4 and abs(float(data.x_val.mean())) > 1e-4
    assert data.x_test.shape == (10_000, 28, 28, 1)


@pytest.mark.slow
def test_a_worker_leaves_a_complete_run_directory(tmp_path, mnist):
    run, state = train(tmp_path, subset=2000, epochs=1, seed=1)
    assert state == "finished", run.status()
    for name in (
        "config.json",
        "normalizer.json",
        "metrics.jsonl",
        "history.csv",
        "model.keras",
        "checkpoint.keras",
        "evaluation.json",
        "predictions.npz",
    ):
        assert run.file(name).is_file(), name
    assert any(run.file("tb").rglob("events.out.tfevents.*"))
    status = run.status()
    assert (
        status["progress"] == 1.0
        and status["epochs"] == 1
        and "evaluated on the 10,000" in status["message"]
    )
    kinds = collections.Counter(record["kind"] for record in run.metrics())
    assert kinds["batch"] >= 1 and kinds["epoch"] == 1 and kinds["gradients"] >= 2
    assert kinds["histograms"] == 1
    with open(run.file("history.csv")) as handle:
        (row,) = csv.DictReader(handle)
    assert set(row) >= {"epoch", "accuracy", "loss", "val_accuracy", "val_loss"}
    evaluation = run.evaluation()
    assert evaluation["test_accuracy"] > 0.7 and evaluation["test_loss"] > 0
    probabilities = predict_proba(run, mnist.x_test[:5], model=load_trained_model(run))
    assert probabilities.shape == (5, 10)
    assert probabilities.argmax(axis=1).tolist() == evaluation["predictions"][:5]
    assert predict_proba(run, mnist.x_test[0]).shape == (1, 10)


@pytest.mark.slow
def test_a_stop_request_keeps_and_evaluates_the_model_so_far(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(KerasSettings(preset="softmax", subset=1000, epochs=50).to_dict())
    run.request_stop()
    assert run_worker(run.path) == "stopped"
    assert "as requested" in run.status()["message"]
    assert run.file("model.keras").is_file() and run.evaluation()["n_test"] == 10_000
    assert [record["epoch"] for record in run.metrics() if record["kind"] == "epoch"] == [1]


@pytest.mark.slow
def test_raw_pixels_with_a_huge_learning_rate_diverge_with_an_explanation(tmp_path):
    run, state = train(
        tmp_path, subset=500, epochs=2, normalization="raw", optimizer="sgd", learning_rate=10.0
    )
    assert state == "diverged"
    message = run.status()["message"]
    assert "at epoch 1, step" in message and "normalize the inputs" in message
    assert not run.file("model.keras").exists() and run.evaluation() is None

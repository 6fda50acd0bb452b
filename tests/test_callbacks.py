"""Callbacks, driven by hand with fake logs and a fake model: no training."""

import csv
import math
from types import SimpleNamespace

import numpy as np
import pytest

from mnist_lab.engines.keras_net.callbacks import (
    EpochCheckpoint,
    HistoryWriter,
    LayerStatsLogger,
)
from mnist_lab.engines.keras_net.models import build_model
from mnist_lab.engines.keras_report import ReportToRun
from mnist_lab.reporter import TrainingReporter, learning_rate_remedy
from mnist_lab.runs import RunStore

BATCH_KEYS = {
    "kind",
    "epoch",
    "step",
    "window_steps",
    "loss",
    "accuracy",
    "lr",
    "samples_per_s",
    "time",
}
EPOCH_KEYS = {
    "kind",
    "epoch",
    "step",
    "fraction",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "samples_per_s",
    "elapsed_s",
    "time",
}


@pytest.fixture
def run(tmp_path):
    return RunStore(tmp_path).create({"engine": "keras", "label": "test"})


def fake_model():
    return SimpleNamespace(optimizer=SimpleNamespace(learning_rate=0.01), stop_training=False)


def reporting(run, batch_size=32, inputs_normalized=True, **settings):
    """The engine's reporting callback over a reporter of ``run``."""
    remedy = learning_rate_remedy(inputs_normalized)
    return ReportToRun(TrainingReporter(run, remedy, batch_size=batch_size, **settings))


def attach(callback, epochs=2, steps=10, model=None):
    callback.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
    callback.set_model(model or fake_model())
    callback.on_train_begin()
    return callback


def test_reporting_writes_the_record_schema_and_progress(run):
    logger = attach(reporting(run, batch_size=32))
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(4, {"loss": 1.5, "accuracy": 0.5})
    status = run.raw_status()
    assert status["step"] == 5 and status["progress"] == pytest.approx(5 / 20)
    assert status["epoch"] == 1 and status["epochs"] == 2 and status["steps_per_epoch"] == 10
    assert status["eta_s"] > 0 and "loss 1.5000" in status["message"]
    # The last execution of an epoch may report a step past the epoch's end.
    logger.on_train_batch_end(12, {"loss": 1.0, "accuracy": 0.6})
    logger.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.6, "val_loss": 0.9, "val_accuracy": 0.7})
    batch, last_batch, epoch = run.metrics()
    assert set(batch) == BATCH_KEYS and batch["kind"] == "batch" and batch["lr"] == 0.01
    assert last_batch["step"] == 10
    assert set(epoch) == EPOCH_KEYS and epoch["epoch"] == 1 and epoch["val_accuracy"] == 0.7
    assert run.raw_status()["progress"] == pytest.approx(0.5)


def test_batch_records_hold_each_window_mean_not_the_running_mean(run):
    logger = attach(reporting(run, batch_size=10))
    logger.on_epoch_begin(0)
    # Keras's running means: steps 1-4 average loss 2.0, steps 5-8 average 1.0, so 1.5 overall.
    logger.on_train_batch_end(3, {"loss": 2.0, "accuracy": 0.25})
    logger.on_train_batch_end(7, {"loss": 1.5, "accuracy": 0.5})
    first, second = run.metrics()
    assert (first["loss"], first["accuracy"], first["window_steps"]) == (2.0, 0.25, 4)
    assert second["loss"] == pytest.approx(1.0) and second["accuracy"] == pytest.approx(0.75)
    assert second["window_steps"] == 4


def test_a_stopped_epoch_is_recorded_as_a_fraction_of_an_epoch(run):
    logger = attach(reporting(run, batch_size=10))
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(3, {"loss": 2.0, "accuracy": 0.25})
    logger.on_epoch_end(0, {"loss": 2.0, "accuracy": 0.25})
    assert run.metrics()[-1]["fraction"] == pytest.approx(0.4)


def test_throughput_does_not_drop_with_a_slow_first_report_of_an_epoch(run, monkeypatch):
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr("mnist_lab.reporter.time.time", lambda: clock.now)
    logger = attach(reporting(run, batch_size=10))

    def report(at, batch):
        clock.now = at
        logger.on_train_batch_end(batch, {"loss": 1.0, "accuracy": 0.5})

    logger.on_epoch_begin(0)
    for at, batch in ((0.1, 2), (0.2, 5), (0.3, 8), (0.4, 9)):  # 100 samples in 0.4 s
        report(at, batch)
    clock.now = 1.0  # validation takes 0.6 s
    logger.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})
    logger.on_epoch_begin(1)
    # The new epoch's first report comes after a slow start: 30 samples in 0.3 s.
    report(1.3, 2)
    rates = [r["samples_per_s"] for r in run.metrics() if r["kind"] == "batch"]
    assert rates[3] == pytest.approx(250)
    # The last interval alone would read 100 samples/s; the window reads (100 + 30) / 0.7.
    assert rates[-1] == pytest.approx(130 / 0.7)


def test_reporting_rewrites_status_at_most_every_interval(run):
    logger = attach(reporting(run, batch_size=32, status_every_s=60))
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(0, {"loss": 2.0, "accuracy": 0.1})
    logger.on_train_batch_end(1, {"loss": 1.9, "accuracy": 0.2})
    assert run.raw_status()["step"] == 1
    assert len(run.metrics()) == 2


def test_epoch_record_without_validation_has_null_val_metrics(run):
    logger = attach(reporting(run, batch_size=8))
    logger.on_epoch_begin(0)
    logger.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.6})
    assert run.metrics()[0]["val_loss"] is None


def test_stop_request_stops_training_at_the_next_batch(run):
    model = fake_model()
    stopper = attach(reporting(run), model=model)
    stopper.on_epoch_begin(1)
    stopper.on_train_batch_end(3)
    assert not model.stop_training and stopper.reporter.stopped_at is None
    run.request_stop()
    stopper.on_train_batch_end(6)
    assert model.stop_training and stopper.reporter.stopped_at == "epoch 2, step 7"
    assert run.raw_status()["state"] == "stopping"


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (math.nan, "The loss became NaN at epoch 1, step 37"),
        (math.inf, "The loss became infinite at epoch 1"),
        (12.5, "The loss exploded to 12.5 at epoch 1, step 37"),
    ],
)
def test_a_diverging_loss_stops_training_with_a_plain_explanation(run, loss, message):
    model = fake_model()
    guard = attach(reporting(run, inputs_normalized=False), steps=100, model=model)
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(36, {"loss": loss})
    assert model.stop_training
    assert guard.reporter.divergence.startswith(message)
    assert "lower it or normalize the inputs" in guard.reporter.divergence


def test_a_healthy_loss_leaves_training_alone(run):
    model = fake_model()
    guard = attach(reporting(run, inputs_normalized=True), model=model)
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(3, {"loss": 2.4})
    guard.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.85})
    assert guard.reporter.divergence is None and not model.stop_training
    assert "hint" not in run.raw_status()


def test_history_writer_is_csv_logger_compatible(tmp_path):
    writer = attach(HistoryWriter(tmp_path / "history.csv"))
    writer.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4})
    writer.on_epoch_end(1, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7})
    with open(tmp_path / "history.csv") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[2] == ["1", "0.8", "0.5", "0.7", "0.6"]


def test_checkpoint_is_replaced_atomically_and_skipped_when_diverging(tmp_path):
    saved = []

    def save(path):
        path.write_text(f"weights {len(saved)}")
        saved.append(path)

    model = SimpleNamespace(save=save)
    checkpoint = attach(EpochCheckpoint(tmp_path / "checkpoint.keras"), model=model)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    checkpoint.on_epoch_end(1, {"loss": math.nan})
    checkpoint.on_epoch_end(2, {"loss": 3779.4})
    assert (tmp_path / "checkpoint.keras").read_text() == "weights 0"
    assert saved[0].name.endswith(".keras") and saved[0] != tmp_path / "checkpoint.keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.keras"]


def test_layer_stats_record_gradient_flow_and_histograms(run):
    model = build_model([{"type": "Dense", "units": 8, "activation": "sigmoid"}])
    rng = np.random.default_rng(0)
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16).astype(np.int32)
    stats = attach(LayerStatsLogger(run, x, y, gradient_every=5), steps=10, model=model)
    stats.on_epoch_begin(0)
    for batch in (0, 3, 4, 9):
        stats.on_train_batch_end(batch)
    stats.on_epoch_end(0)
    gradients = [r for r in run.metrics() if r["kind"] == "gradients"]
    assert [r["step"] for r in gradients] == [1, 10]
    assert [layer["name"] for layer in gradients[0]["layers"]] == ["dense_1", "output"]
    assert all(
        layer["grad_norm"] > layer["grad_rms"] > 0 and layer["activation_mean_abs"] > 0
        for layer in gradients[0]["layers"]
    )
    (histograms,) = [r for r in run.metrics() if r["kind"] == "histograms"]
    weights = histograms["layers"][0]["weights"]
    assert sum(weights["counts"]) == 784 * 8 and len(weights["edges"]) == len(weights["counts"]) + 1
    assert sum(histograms["layers"][1]["activations"]["counts"]) == 16 * 10


def test_layer_stats_without_gradients_only_write_histograms(run):
    model = build_model([])
    x, y = np.zeros((4, 28, 28, 1), np.float32), np.zeros(4, np.int32)
    stats = attach(LayerStatsLogger(run, x, y, gradient_every=None), model=model)
    stats.on_epoch_begin(0)
    stats.on_train_batch_end(0)
    stats.on_epoch_end(0)
    assert [r["kind"] for r in run.metrics()] == ["histograms"]

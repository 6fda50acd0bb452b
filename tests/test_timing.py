"""The Train page's expected training time: from this machine's own runs, else shipped speeds."""

import pytest

from mnist_lab import records
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.runs import RunStore
from mnist_lab.timing import expected_training, shipped_throughput


def fast_cnn(**changes) -> KerasSettings:
    values = {**KerasSettings.recommended({"preset": "fast-cnn"}), **changes}
    return KerasSettings(preset="fast-cnn", **values)


def test_before_any_run_the_shipped_speed_of_the_preset_is_used(tmp_path):
    rate, _ = shipped_throughput(fast_cnn().to_dict())
    estimate = expected_training(RunStore(tmp_path), fast_cnn())
    assert estimate.seconds == pytest.approx(60_000 * 2 / rate)


def test_a_finished_run_of_the_same_model_and_batch_size_is_preferred(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(fast_cnn(epochs=1).to_dict(), name="earlier")
    for rate in (9_000.0, 10_000.0, 11_000.0):
        record = records.epoch_record(
            epoch=1,
            step=1,
            loss=0.1,
            accuracy=0.9,
            val_loss=None,
            val_accuracy=None,
            lr=0.01,
            samples_per_s=rate,
            elapsed_s=1.0,
        )
        run.append_metrics(record)
    run.update_status(state="finished")
    estimate = expected_training(store, fast_cnn(subset=20_000, epochs=3))
    assert estimate.samples_per_s == 10_000 and "earlier" in estimate.source
    assert estimate.seconds == pytest.approx(20_000 * 3 / 10_000)
    assert expected_training(store, fast_cnn(batch_size=64)) is None, "another batch size"


def test_no_estimate_without_a_measurement_or_epochs(tmp_path):
    store = RunStore(tmp_path)
    assert expected_training(store, KerasSettings(preset="deep-relu")) is None
    assert expected_training(store, LogregSettings()) is None


def test_epoch_records_without_a_speed_are_skipped_not_a_crash(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(fast_cnn(epochs=1).to_dict(), name="from a notebook")
    # samples_per_s is optional in an epoch record: a notebook or a hand edit may leave it out.
    run.append_metrics({"kind": "epoch", "epoch": 1, "loss": 0.1, "accuracy": 0.9, "time": 0})
    run.update_status(state="finished")
    rate, source = shipped_throughput(fast_cnn().to_dict())
    estimate = expected_training(store, fast_cnn())
    assert estimate.samples_per_s == rate and "from a notebook" not in estimate.source

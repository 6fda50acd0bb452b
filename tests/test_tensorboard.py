"""TensorBoard: a Keras run's event files, read back with TensorBoard's own reader, and the
command the Train and Evaluate pages show to open them."""

import shlex

import numpy as np
import pytest

from dashboard.ui.runs.tensorboard_view import tensorboard_command
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import TENSORBOARD_DIR, RunStore


def read_events(log_dir) -> dict[str, tuple[str, list]]:
    """Every tag under ``log_dir``: its plugin and its values per step, read by TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import (
        TENSORS,
        EventAccumulator,
    )
    from tensorboard.util.tensor_util import make_ndarray

    events = EventAccumulator(str(log_dir), size_guidance={TENSORS: 0})
    events.Reload()
    return {
        tag: (
            events.SummaryMetadata(tag).plugin_data.plugin_name,
            [(event.step, make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)],
        )
        for tag in events.Tags()["tensors"]
    }


@pytest.mark.slow
def test_a_keras_run_shows_its_scalars_and_weight_histograms_in_tensorboard(tmp_path):
    config = KerasSettings(
        preset="shallow-sigmoid",
        subset=400,
        epochs=2,
        val_split=0.25,
        lr_schedule="cosine",
        learning_rate=0.01,
    )
    run = RunStore(tmp_path).create(config.to_dict())
    assert run_worker(run.path) == "finished", run.status()

    train = read_events(run.file(TENSORBOARD_DIR) / "train")
    scalars = {tag for tag, (plugin, _) in train.items() if plugin == "scalars"}
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= scalars
    histograms = {tag for tag, (plugin, _) in train.items() if plugin == "histograms"}
    # Keras names a weight by its path: model, layer, weight.
    assert histograms == {
        f"mnist_lab_model/{layer}/{weight}/histogram"
        for layer in ("dense_1", "output")
        for weight in ("kernel", "bias")
    }
    hidden_kernel = train["mnist_lab_model/dense_1/kernel/histogram"][1]
    assert [step for step, _ in hidden_kernel] == [0, 1]
    # Buckets of (left edge, right edge, count) that hold all 784 x 20 weights.
    assert hidden_kernel[-1][1][:, 2].sum() == 784 * 20

    epochs = [r for r in run.metrics() if r["kind"] == "epoch"]
    losses = [float(value) for _, value in train["epoch_loss"][1]]
    np.testing.assert_allclose(losses, [r["loss"] for r in epochs], rtol=1e-5)
    rates = [float(value) for _, value in train["epoch_learning_rate"][1]]
    assert rates[0] < 0.01 and rates[1] < rates[0]

    validation = read_events(run.file(TENSORBOARD_DIR) / "validation")
    assert {"epoch_loss", "epoch_accuracy"} <= set(validation)
    accuracies = [float(value) for _, value in validation["epoch_accuracy"][1]]
    np.testing.assert_allclose(accuracies, [r["val_accuracy"] for r in epochs], rtol=1e-5)


def test_the_command_opens_the_runs_event_files(tmp_path, monkeypatch):
    run = RunStore(tmp_path / "my runs").create(KerasSettings().to_dict())
    assert tensorboard_command(run) is None
    run.file(TENSORBOARD_DIR).mkdir()
    monkeypatch.chdir(tmp_path)
    program, flag, log_dir = shlex.split(tensorboard_command(run))
    assert program.endswith("tensorboard") and flag == "--logdir"
    assert log_dir == f"my runs/{run.id}/{TENSORBOARD_DIR}"

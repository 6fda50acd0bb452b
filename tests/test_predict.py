"""`mnist_lab.predict`: one predict_proba for every engine, and the runs it can use."""

import numpy as np
import pytest

from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import load_probabilities
from mnist_lab.execution.worker import run_worker
from mnist_lab.predict import predict_proba, usable_runs
from mnist_lab.runs import RunStore

TINY = {"subset": 300, "seed": 0}


def trained(store: RunStore, config: dict):
    """A run of ``config`` trained in this process (so TensorFlow is imported once)."""
    run = store.create(config)
    assert run_worker(run.path) == "finished", run.status()["message"]
    return run


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(tmp_path_factory.mktemp("runs"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        KerasSettings(preset="softmax", epochs=1, **TINY).to_dict(),
        LogregSettings(max_iter=20, **TINY).to_dict(),
        NumpyNetSettings(epochs=1, **TINY).to_dict(),
    ],
    ids=["keras", "sklearn", "numpy"],
)
def test_every_engine_predicts_probabilities_that_match_its_evaluation(store, config, mnist):
    run = trained(store, config)
    images = mnist.x_test[:50]
    probabilities = predict_proba(run, images)
    assert probabilities.shape == (50, 10)
    assert probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # The same model, normalization and images as the worker's own evaluation.
    np.testing.assert_allclose(probabilities, load_probabilities(run)[:50], atol=1e-4)
    assert predict_proba(run, images[0]).shape == (1, 10)


def test_unknown_engine_is_a_value_error(tmp_path):
    run = RunStore(tmp_path).create({"engine": "torch"})
    with pytest.raises(ValueError, match="unknown engine 'torch'"):
        predict_proba(run, np.zeros((28, 28), np.uint8))


def test_usable_runs_are_finished_or_stopped_with_a_model(tmp_path):
    store = RunStore(tmp_path)
    finished = store.create(NumpyNetSettings().to_dict())
    finished.update_status(state="finished")
    finished.file("weights.npz").write_bytes(b"")
    stopped = store.create(LogregSettings().to_dict())
    stopped.update_status(state="stopped")
    stopped.file("weights.npz").write_bytes(b"")
    no_model = store.create(KerasSettings().to_dict())
    no_model.update_status(state="finished")
    diverged = store.create(KerasSettings().to_dict())
    diverged.update_status(state="diverged")
    diverged.file("checkpoint.keras").write_bytes(b"")
    damaged = store.create(NumpyNetSettings().to_dict())
    damaged.file("config.json").write_text("{")
    assert set(usable_runs(store)) == {finished, stopped}

"""The NumPy engine: its hand-derived gradients, its config, and a real run through the worker."""

import numpy as np
import pytest

from mnist_lab.engines.numpy_net import ENGINE, network, training
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.preprocess import NORMALIZER_FILE
from mnist_lab.runs import RunStore

HIDDEN = 6
BATCH = 8


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||): scale-free, and 0 only when both agree exactly."""
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


@pytest.fixture
def batch64():
    """float64 weights (with non-zero biases) and a random batch, so every term is exercised."""
    rng = np.random.default_rng(3)
    weights = network.init_weights(HIDDEN, seed=1, dtype=np.float64)
    weights["b1"] = rng.normal(size=HIDDEN)
    weights["b2"] = rng.normal(size=10)
    x = rng.uniform(0.0, 1.0, size=(BATCH, network.N_INPUTS))
    y = rng.integers(0, 10, size=BATCH)
    return weights, x, y


def test_gradients_match_central_finite_differences(batch64):
    weights, x, y = batch64
    _, grads, _, _ = network.gradients(weights, x, y)
    eps = 1e-6
    for name in network.PARAMETER_NAMES:
        numeric = np.zeros_like(weights[name])
        for index in np.ndindex(weights[name].shape):
            original = weights[name][index]
            weights[name][index] = original + eps
            up = network.nll_loss(weights, x, y)
            weights[name][index] = original - eps
            down = network.nll_loss(weights, x, y)
            weights[name][index] = original
            numeric[index] = (up - down) / (2 * eps)
        assert relative_error(grads[name], numeric) < 1e-6, name


def test_gradients_match_tensorflow_autodiff(batch64):
    tf = pytest.importorskip("tensorflow")
    weights, x, y = batch64
    loss, grads, _, _ = network.gradients(weights, x, y)
    variables = {name: tf.Variable(value, dtype=tf.float64) for name, value in weights.items()}
    with tf.GradientTape() as tape:
        hidden = tf.sigmoid(x @ variables["W1"] + variables["b1"])
        logits = hidden @ variables["W2"] + variables["b2"]
        tf_loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
    tf_grads = tape.gradient(tf_loss, variables)
    assert abs(loss - float(tf_loss)) < 1e-12
    for name in network.PARAMETER_NAMES:
        assert relative_error(grads[name], tf_grads[name].numpy()) < 1e-6, name


def test_init_weights_are_seeded_normal_with_fan_in_scale():
    first = network.init_weights(20, seed=7)
    again = network.init_weights(20, seed=7)
    assert all(np.array_equal(first[k], again[k]) for k in network.PARAMETER_NAMES)
    assert first["W1"].dtype == np.float32 and first["W1"].shape == (784, 20)
    assert abs(first["W1"].std() - 1 / np.sqrt(784)) < 0.002
    assert not first["b1"].any()


def test_forward_gives_probabilities_without_overflow():
    weights = network.init_weights(4, seed=0)
    x = np.full((3, 784), 1e4, dtype=np.float32)
    a1, p = network.forward(weights, x)
    assert np.isfinite(a1).all() and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("epochs", 0, "epochs must be a whole number in [1, 100]"),
        ("learning_rate", 0.0, "learning_rate must be a number in (0, 10]"),
        ("batch_size", 5000, "batch_size must be a whole number in [1, 4096]"),
        ("subset", 5, "subset must be a whole number in [100, 60000]"),
        ("val_split", 0.9, "val_split must be a number in [0, 0.5]"),
        ("normalization", "zscore", "normalization must be one of"),
    ],
)
def test_config_validate_names_the_range(field, value, words):
    config = NumpyNetSettings(**{field: value})
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("[", r"\[")):
        config.validate()


def test_config_round_trips_through_the_run_config():
    config = NumpyNetSettings(epochs=2, subset=500)
    stored = config.to_dict()
    assert stored["engine"] == "numpy" and stored["label"] == "numpy-784-20-10"
    assert NumpyNetSettings.from_dict(dict(stored, created="now")) == config


def test_worker_trains_a_complete_numpy_run(tmp_path):
    config = NumpyNetSettings(epochs=1, subset=2000, learning_rate=0.5, batch_size=16)
    run = RunStore(tmp_path).create(config.to_dict())
    assert run_worker(run.path) == "finished"
    status = run.status()
    assert status["state"] == "finished" and status["progress"] == 1.0
    assert status["samples_per_s"] > 0
    assert status["message"] == "Trained 1 epochs; evaluated on the 10,000 test images."
    kinds = {record["kind"] for record in run.metrics()}
    assert kinds == {"batch", "epoch", "gradients", "histograms"}
    gradient = next(r for r in run.metrics() if r["kind"] == "gradients")
    assert [layer["name"] for layer in gradient["layers"]] == ["hidden", "output"]
    evaluation = run.evaluation()
    assert evaluation["n_test"] == 10000 and evaluation["test_accuracy"] > 0.6
    assert run.file("history.csv").read_text().startswith("epoch,accuracy,loss,val_accuracy")
    for name in (network.WEIGHTS_FILE, NORMALIZER_FILE, "predictions.npz"):
        assert run.file(name).exists(), name
    probabilities = ENGINE.predict_proba(run, np.zeros((2, 28, 28), dtype=np.uint8))
    assert probabilities.shape == (2, 10) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_a_nan_loss_ends_the_run_as_diverged(tmp_path, monkeypatch):
    original = network.init_weights

    def poisoned(*args, **kwargs):
        weights = original(*args, **kwargs)
        weights["W2"][0, 0] = np.nan
        return weights

    monkeypatch.setattr(training, "init_weights", poisoned)
    run = RunStore(tmp_path).create(NumpyNetSettings(epochs=1, subset=300).to_dict())
    outcome = training.train_run(run)
    assert outcome.state == "diverged" and "step 1" in outcome.message
    assert not run.file(network.WEIGHTS_FILE).exists()


def test_a_stop_request_ends_the_run_with_its_weights_saved(tmp_path):
    config = NumpyNetSettings(epochs=3, subset=1000)
    run = RunStore(tmp_path).create(config.to_dict())
    run.request_stop()
    outcome = training.train_run(run)
    assert outcome.state == "stopped" and "epoch 1, step 1" in outcome.message
    assert run.file(network.WEIGHTS_FILE).exists() and run.evaluation() is not None


def test_cli_trains_the_numpy_engine(tmp_path, monkeypatch, capsys):
    from mnist_lab.cli.main import main

    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    argv = ["train", "--engine", "numpy", "--epochs", "1", "--subset", "500", "--lr", "0.5"]
    assert main(argv) == 0
    output = capsys.readouterr().out
    assert "Test accuracy:" in output
    (run,) = RunStore(tmp_path).list()
    assert run.config()["engine"] == "numpy" and run.config()["subset"] == 500


def test_cli_rejects_keras_flags_for_the_numpy_engine(capsys):
    from mnist_lab.cli.main import main

    assert main(["train", "--engine", "numpy", "--optimizer", "adam"]) == 2
    assert "plain SGD" in capsys.readouterr().err

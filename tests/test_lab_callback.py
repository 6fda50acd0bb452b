"""LabCallback: a plain Keras script's fit becomes a live, stoppable, evaluated lab run.

The script (`tests/notebook_script.py`) runs as a real process, stopped through the run's
stop request (what the Train page's Stop button writes) and killed with a real signal; the
refusals and the notebook-side endings run in this process on a few hundred digits.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mnist_lab import load_run
from mnist_lab.engines import engine_of
from mnist_lab.runs import RunStore
from tests.notebook_process import PROCESS_TIMEOUT_S, start_script, wait_for_live_run


def test_a_classic_script_becomes_an_evaluated_run_with_its_own_accuracy(tmp_path):
    process = start_script(tmp_path, "2000", "1")
    out, _ = process.communicate(timeout=PROCESS_TIMEOUT_S)
    assert process.returncode == 0
    own_accuracy = float(re.search(r"script test accuracy ([0-9.]+)", out).group(1))
    (run,) = RunStore(tmp_path).list()
    status = run.status()
    assert status["state"] == "finished" and status["progress"] == 1.0
    assert abs(run.evaluation()["test_accuracy"] - own_accuracy) <= 0.001
    steps = [record["step"] for record in run.metrics() if record["kind"] == "batch"]
    # Reported from Keras's thread pool, at most every 0.2 s, in order, up to the epoch's end.
    assert steps == sorted(set(steps)) and steps[-1] == run.config()["steps_per_epoch"]
    (epoch,) = [r for r in run.metrics() if r["kind"] == "epoch"]
    assert epoch["val_accuracy"] is not None and epoch["samples_per_s"] > 0
    config = run.config()
    assert (config["engine"], config["name"], config["owner"]) == ("external", "classic MLP", "ada")
    assert (config["batch_size"], config["epochs"], config["optimizer"]) == (32, 1, "adam")
    assert config["input_shape"] == [28, 28] and len(config["summary"]) == 3
    assert engine_of(run).has_model(run)


def test_the_labs_stop_ends_the_fit_within_seconds_and_keeps_the_model(tmp_path):
    process = start_script(tmp_path, "2000", "20", "0.05")
    run = wait_for_live_run(tmp_path, process)
    run.request_stop()
    asked = time.monotonic()
    while run.raw_status()["state"] == "running":
        assert time.monotonic() - asked < 5, "the fit did not stop at its next batch"
        time.sleep(0.05)
    process.communicate(timeout=PROCESS_TIMEOUT_S)
    status = run.status()
    assert status["state"] == "stopped" and "as requested" in status["message"]
    assert status["epoch"] == 1 and engine_of(run).has_model(run)
    assert run.evaluation()["n_test"] == 10_000


def test_killing_the_script_leaves_its_run_interrupted(tmp_path):
    process = start_script(tmp_path, "2000", "20", "0.05")
    run = wait_for_live_run(tmp_path, process)
    assert run.status()["state"] == "running"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert run.status()["state"] == "interrupted"


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.x_train[:300].astype("float32") / 255, mnist.y_train[:300]


def mlp(keras, input_shape=(28, 28), outputs=10, activation="softmax"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(outputs, activation=activation),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize(
    ("input_shape", "outputs", "message"),
    [((32, 32, 3), 10, r"inputs of shape \(32, 32, 3\)"), ((28, 28), 5, "one unit per class")],
    ids=["wrong-input", "wrong-outputs"],
)
def test_a_model_that_cannot_read_digits_is_refused_before_training(
    keras, tmp_path, input_shape, outputs, message
):
    from mnist_lab import LabCallback

    model = mlp(keras, input_shape, outputs)
    x = np.zeros((64, *input_shape), dtype="float32")
    with pytest.raises(ValueError, match=message):
        model.fit(x, np.zeros(64), epochs=1, verbose=0, callbacks=[LabCallback(runs_dir=tmp_path)])
    assert RunStore(tmp_path).list() == []


def test_an_error_in_the_notebook_leaves_the_run_interrupted(keras, digits, tmp_path):
    from mnist_lab import LabCallback

    def fail(batch, logs):
        if batch == 2:
            raise RuntimeError("the notebook's own bug")

    with pytest.raises(RuntimeError):
        mlp(keras).fit(
            *digits,
            verbose=0,
            callbacks=[
                LabCallback(runs_dir=tmp_path),
                keras.callbacks.LambdaCallback(on_train_batch_end=fail),
            ],
        )
    (run,) = RunStore(tmp_path).list()
    deadline = time.monotonic() + 10
    while run.status()["state"] != "interrupted":
        assert time.monotonic() < deadline, run.status()
        time.sleep(0.1)


def test_logits_and_standardized_inputs_are_evaluated_as_the_notebook_fed_them(
    keras, digits, mnist, tmp_path
):
    from mnist_lab import LabCallback

    mean, std = 0.1307, 0.3081
    x, y = digits
    model = mlp(keras, (784,), activation=None)
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    callback = LabCallback(
        name="logits", runs_dir=tmp_path, normalization="standardize", mean=mean, std=std
    )
    model.fit(((x - mean) / std).reshape(-1, 784), y, epochs=1, verbose=0, callbacks=[callback])
    loaded = load_run(callback.run.id, tmp_path)
    assert loaded.settings.outputs == "logits" and loaded.normalizer.name == "standardize"
    probabilities = loaded.predict_proba(mnist.x_test[:50])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, loaded.test_probabilities[:50], atol=1e-5)
    assert loaded.run.status()["state"] == "finished"


def test_a_preprocess_function_is_recorded_by_name_and_fed_only_in_the_notebook(
    keras, digits, mnist, tmp_path
):
    from mnist_lab import LabCallback

    def to_unit_range(images):
        return images.astype("float32") / 255

    x, y = digits
    callback = LabCallback(runs_dir=tmp_path, preprocess=to_unit_range)
    model = mlp(keras)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    run = callback.run
    assert run.config()["preprocess"].endswith("to_unit_range")
    assert run.config()["normalization"] is None
    _, own_accuracy = model.evaluate(to_unit_range(mnist.x_test), mnist.y_test, verbose=0)
    assert abs(run.evaluation()["test_accuracy"] - own_accuracy) <= 0.001
    engine = engine_of(run)
    assert not engine.has_model(run)
    with pytest.raises(ValueError, match="cannot run"):
        engine.predict_proba(run, mnist.x_test[:2])
    assert load_run(run.id, tmp_path).normalizer is None


def test_load_run_gives_any_engines_model_and_predictions(tmp_path, mnist):
    from mnist_lab.evaluation import write_evaluation
    from tests.hand_built import numpy_net_run

    store = RunStore(tmp_path)
    run = numpy_net_run(store)
    engine = engine_of(run)
    write_evaluation(run, mnist.y_test[:100], engine.predict_proba(run, mnist.x_test[:100]))
    loaded = load_run(run.id, tmp_path)
    assert loaded.settings.hidden_units == 6 and loaded.normalizer.name == "scale"
    np.testing.assert_allclose(
        loaded.predict_proba(mnist.x_test[:100]), loaded.test_probabilities, atol=1e-6
    )
    with pytest.raises(KeyError):
        load_run("no-such-run", tmp_path)


def test_importing_the_library_and_load_run_loads_no_keras():
    code = (
        "import sys, mnist_lab; mnist_lab.load_run; "
        "print(sorted({'keras', 'streamlit'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

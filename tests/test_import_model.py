"""import-model and the Evaluate page's upload: a model file becomes a finished, evaluated run.

Each refusal (code in a Lambda layer, an input that cannot take a digit, the wrong number of
outputs, a file over the size bound, a file that is no model) is one line on stderr, exit
code 2, and no run directory. The imported run then opens on every page that shows runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import main
from mnist_lab.engines import engine_of
from mnist_lab.runs import RunStore

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """Small models saved as files: one good one per format, and one of each kind refused."""
    import keras

    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)

    def save(name, input_shape, *layers):
        keras.Sequential([keras.Input(shape=input_shape), *layers]).save(folder / name)
        return folder / name

    dense = keras.layers.Dense
    files = {
        "good": save("good.keras", (28, 28, 1), keras.layers.Flatten(), dense(10, "softmax")),
        "h5": save("old.h5", (784,), dense(10)),
        "lambda": save("lambda.keras", (784,), keras.layers.Lambda(lambda t: t * 2), dense(10)),
        "input": save("colour.keras", (32, 32, 3), keras.layers.Flatten(), dense(10)),
        "outputs": save("five.keras", (784,), dense(5, "softmax")),
    }
    files["not-a-model"] = folder / "notes.keras"
    files["not-a-model"].write_text("my notes, not a model")
    return files


def test_a_keras_file_becomes_a_finished_evaluated_run(model_files, tmp_path, capsys, mnist):
    assert main(["import-model", str(model_files["good"]), "--name", "from home"]) == 0
    (run,) = RunStore().list()
    assert f"as run {run.id}: test accuracy" in capsys.readouterr().out
    assert run.status()["state"] == "finished" and run.name == "from home"
    config = run.config()
    assert (config["engine"], config["source"], config["input_shape"]) == (
        "external",
        "file",
        [28, 28, 1],
    )
    engine = engine_of(run)
    assert engine.has_model(run) and run.evaluation()["n_test"] == 10_000
    probabilities = engine.predict_proba(run, mnist.x_test[:20])
    from mnist_lab.evaluation import load_probabilities

    np.testing.assert_allclose(probabilities, load_probabilities(run)[:20], atol=1e-5)


def test_an_h5_file_from_older_keras_is_read_safely_and_its_logits_become_probabilities(
    model_files,
):
    assert main(["import-model", str(model_files["h5"]), "--name", "old"]) == 0
    (run,) = RunStore().list()
    assert run.config()["outputs"] == "logits"
    assert engine_of(run).first_layer_weights(run) is None
    assert engine_of(run).digit_templates(run).shape == (10, 28, 28)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("lambda", "safe_mode=True: no Lambda layers or custom objects"),
        ("input", r"inputs of shape \(32, 32, 3\), which cannot hold a 28x28 digit"),
        ("outputs", r"one unit per class, \(10,\)"),
        ("not-a-model", "is not a model file"),
    ],
)
def test_each_refusal_is_one_line_and_leaves_no_run(model_files, kind, message, capsys):
    assert main(["import-model", str(model_files[kind]), "--name", kind]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert re.search(message, err), err
    assert RunStore().list() == []


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(model_files, monkeypatch, capsys):
    monkeypatch.setattr("mnist_lab.engines.external.model_file.MAX_MODEL_BYTES", 1024)
    assert main(["import-model", str(model_files["good"]), "--name", "big"]) == 2
    assert "more than the lab's limit of" in capsys.readouterr().err
    assert RunStore().list() == []


def test_a_model_over_the_parameter_bound_is_refused(model_files, monkeypatch, capsys):
    monkeypatch.setattr("mnist_lab.engines.external.model.MAX_PARAMS", 100)
    assert main(["import-model", str(model_files["good"]), "--name", "wide"]) == 2
    assert "7,850 parameters, more than the lab's limit of 100" in capsys.readouterr().err
    assert RunStore().list() == []


def test_an_upload_is_imported_and_a_refused_one_leaves_nothing(model_files):
    from dashboard.ui.evaluate.import_view import import_upload

    def upload(path):
        return SimpleNamespace(name=path.name, getvalue=path.read_bytes)

    store = RunStore()
    with pytest.raises(ValueError, match="Lambda"):
        import_upload(store, upload(model_files["lambda"]), "x", "scale", "MNIST")
    assert store.list() == []
    run = import_upload(store, upload(model_files["good"]), "", "scale", "MNIST")
    assert run.name == "good" and run.status()["state"] == "finished"


def test_an_imported_run_opens_on_every_page_that_shows_runs(model_files):
    assert main(["import-model", str(model_files["good"]), "--name", "from home"]) == 0
    app = AppTest.from_file(str(HOME), default_timeout=120).run()
    for page in ("evaluate.py", "compare.py", "inside.py", "playground.py", "classroom.py"):
        app.switch_page(f"../pages/{page}").run()
        assert not app.exception, page
        if page == "evaluate.py":
            assert app.metric[0].label == "Test accuracy"
    app.switch_page("../pages/sweeps.py").run()
    assert any("cannot be swept" in caption.value for caption in app.caption)


@pytest.mark.parametrize("kind", ["good", "h5"], ids=["softmax", "logits"])
def test_input_gradients_of_an_imported_model_match_finite_differences(model_files, kind, mnist):
    assert main(["import-model", str(model_files[kind]), "--name", kind]) == 0
    (run,) = RunStore().list()
    engine = engine_of(run)
    image = mnist.x_test[0].astype(np.float64)
    gradient, _ = engine.input_gradient(run, image, 3, score="log_probability")
    pixel = (14, 14)
    step = np.zeros((28, 28))
    step[pixel] = 1.0
    log_p = [np.log(engine.predict_proba(run, image + sign * step)[0, 3]) for sign in (1, -1)]
    assert gradient[0][pixel] == pytest.approx((log_p[0] - log_p[1]) / 2, rel=0.05, abs=1e-6)

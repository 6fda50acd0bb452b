"""The Train form keeps its values for the session, and can be filled from a run's settings."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.app.form_memory import TOKEN_KEY
from mnist_lab import kept_forms
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.evaluation import write_evaluation
from mnist_lab.runs import RunStore
from tests.test_evaluate_page import fake_probabilities
from tests.test_train_page import HOME, open_train_page

LAYERS = [{"type": "Dense", "units": 32, "activation": "tanh"}]


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def layer_types(app: AppTest) -> list[str]:
    return [box.value for box in app.selectbox if box.label.startswith("layer ")]


def test_the_form_survives_a_visit_to_another_page(runs_dir):
    app = open_train_page()
    app.selectbox(key="train_keras_preset").set_value("custom").run()
    app.button(key="train_keras_custom_layers_add").click().run()
    next(box for box in app.number_input if box.label == "filters").set_value(32).run()
    app.select_slider(key="train_keras_learning_rate").set_value(0.01).run()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.number_input(key="train_numpy_epochs").set_value(7).run()
    layers = layer_types(app)
    assert layers == []  # the numpy engine has no layer builder
    app.switch_page("../pages/data.py").run()
    assert not app.exception
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    assert app.segmented_control(key="train_engine").value == "numpy"
    assert app.number_input(key="train_numpy_epochs").value == 7
    app.segmented_control(key="train_engine").set_value("keras").run()
    assert app.selectbox(key="train_keras_preset").value == "custom"
    assert layer_types(app) == ["Conv2D", "MaxPool", "Dense", "Dropout", "Dense"]
    assert next(box for box in app.number_input if box.label == "filters").value == 32
    assert app.select_slider(key="train_keras_learning_rate").value == 0.01


def test_copy_settings_fills_the_form_from_a_finished_run(runs_dir):
    settings = KerasSettings(
        preset="custom", layers=LAYERS, learning_rate=0.1, epochs=4, optimizer="sgd", seed=1234
    )
    run = RunStore(runs_dir).create(settings.to_dict(), name="to copy")
    run.update_status(state="finished", progress=1.0)
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.button(key="train_copy_settings").click().run()
    assert not app.exception
    assert app.segmented_control(key="train_engine").value == "keras"
    assert app.selectbox(key="train_keras_preset").value == "custom"
    assert layer_types(app) == ["Dense"]
    assert [box.value for box in app.selectbox if box.label == "activation"] == ["tanh"]
    assert app.select_slider(key="train_keras_learning_rate").value == 0.1
    assert app.number_input(key="train_keras_epochs").value == 4
    assert app.selectbox(key="train_keras_optimizer").value == "sgd"
    assert app.number_input(key="train_keras_seed").value == 1234
    assert not app.checkbox(key="train_keras_fresh_seed").value, "the copy repeats its seed"


@pytest.mark.parametrize(
    ("page", "button"),
    [("evaluate.py", "evaluate_copy_settings"), ("compare.py", "compare_copy_settings")],
)
def test_copy_from_evaluate_or_compare_opens_train_with_the_runs_settings(
    runs_dir, mnist, page, button
):
    settings = KerasSettings(preset="simple-cnn", learning_rate=0.1, epochs=4, seed=99)
    run = RunStore(runs_dir).create(settings.to_dict(), name="a cnn")
    run.append_metrics({"kind": "epoch", "epoch": 1, "loss": 0.1, "samples_per_s": 900.0})
    write_evaluation(run, mnist.y_test, fake_probabilities(mnist.y_test, 0.03, 1))
    run.update_status(state="finished", progress=1.0, message="Done.")
    app = open_train_page()
    # The form was seen with its defaults: what the copy fills must win over them.
    assert app.selectbox(key="train_keras_preset").value != "simple-cnn"
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception
    app.button(key=button).click().run()
    assert not app.exception
    assert app.segmented_control(key="train_engine").value == "keras", "Train is open"
    assert app.selectbox(key="train_keras_preset").value == "simple-cnn"
    assert app.number_input(key="train_keras_epochs").value == 4
    assert app.select_slider(key="train_keras_learning_rate").value == 0.1
    assert app.number_input(key="train_keras_seed").value == 99


def open_in_browser(token: str) -> AppTest:
    """The Train page in a new session (a refresh) of the browser whose cookie holds ``token``."""
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.session_state[TOKEN_KEY] = token
    app.run()
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    return app


def test_the_form_survives_a_refresh_and_a_damaged_memory_gives_the_defaults(runs_dir):
    token = "t" * 43
    app = open_in_browser(token)
    app.selectbox(key="train_keras_preset").set_value("custom").run()
    app.button(key="train_keras_custom_layers_add").click().run()
    next(box for box in app.number_input if box.label == "filters").set_value(32).run()
    app.number_input(key="train_keras_epochs").set_value(3).run()
    app.text_input(key="train_keras_name").set_value("my cnn").run()
    app.segmented_control(key="train_engine").set_value("numpy").run()

    again = open_in_browser(token)
    assert again.segmented_control(key="train_engine").value == "numpy"
    again.segmented_control(key="train_engine").set_value("keras").run()
    assert again.selectbox(key="train_keras_preset").value == "custom"
    assert layer_types(again) == ["Conv2D", "MaxPool", "Dense", "Dropout", "Dense"]
    assert next(box for box in again.number_input if box.label == "filters").value == 32
    assert again.number_input(key="train_keras_epochs").value == 3
    assert again.text_input(key="train_keras_name").value == "my cnn"
    assert open_in_browser("u" * 43).segmented_control(key="train_engine").value == "keras", (
        "another browser keeps its own form"
    )

    # A kept value that no longer fits its widget is left out; the rest is read back.
    path = kept_forms.form_file(runs_dir, f"{token}-train")
    document = json.loads(path.read_text())
    document["values"]["train_keras_epochs"] = 10**6
    path.write_text(json.dumps(document))
    shown = open_in_browser(token)
    assert shown.selectbox(key="train_keras_preset").value == "custom"
    assert shown.number_input(key="train_keras_epochs").value == KerasSettings().epochs
    shown.segmented_control(key="train_engine").set_value("numpy").run()
    # A damaged file: the defaults, and the page works.
    path.write_text('{"version": 1, "values": {"train_engine": ')
    fresh = open_in_browser(token)
    assert fresh.segmented_control(key="train_engine").value == "keras"
    assert not fresh.error

"""A run is bounded by its expected time on this machine, not only by its parameter count."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import main
from mnist_lab.engines import all_engines, get_engine
from mnist_lab.engines.keras_net.models import (
    MAX_PARAMS,
    PRESETS,
    count_multiply_adds,
    count_params,
)
from mnist_lab.launch import launch
from mnist_lab.runs import RunStore
from mnist_lab.timing import MAX_RUN_MINUTES_ENV, cost_refusal, max_run_minutes

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
# Four 512-filter convolutions at full size: few parameters, about 5.6 billion multiply-adds
# per image, hours per epoch on the class's server.
HUGE_CNN = [{"type": "Conv2D", "filters": 512, "kernel": 3, "padding": "same"}] * 4 + [
    {"type": "MaxPool", "size": 4},
    {"type": "Dense", "units": 64},
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    monkeypatch.delenv(MAX_RUN_MINUTES_ENV, raising=False)
    return RunStore(tmp_path)


def huge_settings():
    return get_engine("keras").settings_class.from_dict({"preset": "custom", "layers": HUGE_CNN})


def test_the_huge_cnn_is_within_the_parameter_limit_but_billions_of_multiply_adds():
    assert count_params(HUGE_CNN) < MAX_PARAMS
    assert count_multiply_adds(HUGE_CNN) > 5e9


def test_a_huge_cnn_is_refused_with_its_time_and_the_limit(store):
    with pytest.raises(ValueError) as refused:
        launch(store, {"engine": "keras", "preset": "custom", "layers": HUGE_CNN})
    message = str(refused.value)
    assert "this run would take about " in message and " h " in message
    assert f"the lab's limit is 30 min per run ({MAX_RUN_MINUTES_ENV})" in message
    assert store.list() == [], "a refused launch leaves no run behind"


def test_the_cli_refuses_it_in_one_line_with_exit_2(store, capsys):
    assert main(["train", "--layers", json.dumps(HUGE_CNN)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: this run would take about ")
    assert MAX_RUN_MINUTES_ENV in error and "\n" not in error and "Traceback" not in error
    assert store.list() == []


def test_the_limit_is_set_by_its_variable(store, monkeypatch):
    monkeypatch.setenv(MAX_RUN_MINUTES_ENV, "0")
    assert max_run_minutes() is None and cost_refusal(store, huge_settings()) is None
    monkeypatch.setenv(MAX_RUN_MINUTES_ENV, "100000")
    assert cost_refusal(store, huge_settings()) is None
    monkeypatch.setenv(MAX_RUN_MINUTES_ENV, "90")
    assert "the lab's limit is 1 h 30 min per run" in cost_refusal(store, huge_settings())
    for wrong in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(MAX_RUN_MINUTES_ENV, wrong)
        with pytest.raises(ValueError, match=f"{MAX_RUN_MINUTES_ENV} must be a number"):
            max_run_minutes()


def test_every_engine_default_and_every_preset_recipe_is_accepted(store):
    keras = get_engine("keras").settings_class
    chosen = [engine.settings_class() for engine in all_engines()]
    chosen += [
        keras.from_dict({"preset": preset, **keras.recommended({"preset": preset})})
        for preset in PRESETS
    ]
    assert [cost_refusal(store, settings) for settings in chosen] == [None] * len(chosen)


def test_the_train_page_refuses_before_launch(store):
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page("../pages/train.py").run()
    app.selectbox(key="train_keras_preset").set_value("strong-cnn").run()
    app.number_input(key="train_keras_epochs").set_value(500).run()
    assert not app.exception
    # Shown as plain text: markdown's characters arrive escaped.
    errors = [error.value.replace("\\", "") for error in app.error]
    assert any("would take about" in error and MAX_RUN_MINUTES_ENV in error for error in errors)
    assert app.button(key="train_keras_launch").disabled

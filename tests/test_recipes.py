"""Presets carry training recipes: the one-cycle schedule, Adam's betas, AdamW, augmentation."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import build_parser
from mnist_lab.cli.train import launch_request
from mnist_lab.engines.keras_net.models import PRESETS, summarize_model, validate_layers
from mnist_lab.engines.keras_net.schedules import (
    END_DIVISOR,
    START_DIVISOR,
    keras_one_cycle,
    one_cycle_rate,
    schedule_rates,
)
from mnist_lab.engines.keras_net.settings import RECIPE_FIELDS, KerasSettings
from mnist_lab.runs import RunStore

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


def request(*flags):
    return launch_request(build_parser().parse_args(["train", *flags])).settings


def test_every_recipe_names_only_recipe_settings_and_is_valid():
    for name, preset in PRESETS.items():
        recipe = preset.get("recipe", {})
        assert set(recipe) <= set(RECIPE_FIELDS), name
        KerasSettings(preset=name, **KerasSettings.recommended({"preset": name})).validate()


def test_train_preset_uses_its_recipe():
    settings = request("--preset", "fast-cnn")
    recipe = PRESETS["fast-cnn"]["recipe"]
    assert {name: getattr(settings, name) for name in recipe} == recipe


def test_flags_override_a_recipe_and_drop_what_the_new_optimizer_ignores():
    settings = request("--preset", "fast-cnn", "--epochs", "1", "--optimizer", "sgd")
    assert settings.epochs == 1 and settings.optimizer == "sgd"
    assert (settings.beta_1, settings.beta_2) == (0.9, 0.999), "Adam's betas stay with Adam"
    assert settings.lr_schedule == "one-cycle" and settings.batch_size == 256


def test_a_config_file_overrides_a_recipe(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"preset": "fast-cnn", "batch_size": 64}')
    settings = request("--config", str(path))
    assert settings.batch_size == 64 and settings.learning_rate == 0.01


def test_the_run_config_records_every_value_used(tmp_path):
    config = request("--preset", "fast-cnn").to_dict()
    assert {"beta_1", "beta_2", "warmup_fraction", "label_smoothing"} <= set(config)
    assert KerasSettings.from_dict(config).to_dict() == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizer": "sgd", "beta_1": 0.5}, "apply to optimizers 'adam' and 'adamw' only"),
        ({"weight_decay": 0.01}, "weight_decay applies to optimizer 'adamw' only"),
        ({"label_smoothing": 0.6}, r"label_smoothing must be a number in \[0, 0.5\)"),
        ({"warmup_fraction": 1.0}, r"warmup_fraction must be a number in \(0, 1\)"),
    ],
)
def test_new_settings_are_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        KerasSettings(**changes).validate()


def test_one_cycle_climbs_to_the_peak_then_anneals_to_almost_nothing():
    total, peak = 1000, 0.01
    rates = [one_cycle_rate(step, total, peak, 0.3) for step in range(total + 1)]
    top = int(np.argmax(rates))
    assert top == 300 and rates[top] == pytest.approx(peak)
    assert rates[0] == pytest.approx(peak / START_DIVISOR)
    assert rates[-1] == pytest.approx(peak / END_DIVISOR)
    assert all(np.diff(rates[:top]) > 0) and all(np.diff(rates[top:]) <= 0)


def test_the_keras_schedule_follows_the_drawn_curve():
    schedule = keras_one_cycle(200, 0.02, 0.25)
    for step in (0, 17, 50, 120, 199, 200):
        expected = one_cycle_rate(step, 200, 0.02, 0.25)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-4)


def test_schedule_rates_cover_every_schedule():
    for schedule in ("none", "exponential", "cosine", "one-cycle"):
        settings = KerasSettings(lr_schedule=schedule, epochs=4, learning_rate=0.1)
        epochs, rates = schedule_rates(settings, steps_per_epoch=50, points=41)
        assert epochs[0] == 0 and epochs[-1] == 4 and max(rates) <= 0.1 + 1e-12
    exponential = schedule_rates(KerasSettings(lr_schedule="exponential"), 10, points=6)[1]
    assert exponential[-1] == pytest.approx(0.001 * 0.5**5)


def test_augmentation_layers_keep_the_shape_and_need_images():
    layers = [{"type": "RandomTranslation"}, {"type": "RandomRotation", "degrees": 15}]
    summary = summarize_model(layers)
    assert [tuple(row["output_shape"]) for row in summary[:2]] == [(28, 28, 1), (28, 28, 1)]
    assert validate_layers(layers)[0] == {"type": "RandomTranslation", "fraction": 0.1}
    with pytest.raises(ValueError, match=r"degrees must be a number in \(0, 90\]"):
        validate_layers([{"type": "RandomRotation", "degrees": 120}])
    with pytest.raises(ValueError, match="needs image-shaped input"):
        validate_layers([{"type": "Dense", "units": 5}, {"type": "RandomTranslation"}])


def test_a_recipe_with_adamw_label_smoothing_and_augmentation_trains(tmp_path):
    from mnist_lab.execution.worker import run_worker

    layers = [{"type": "RandomTranslation"}, {"type": "Conv2D", "filters": 4}, {"type": "MaxPool"}]
    settings = KerasSettings(
        preset="custom",
        layers=layers,
        optimizer="adamw",
        weight_decay=0.001,
        label_smoothing=0.1,
        lr_schedule="one-cycle",
        learning_rate=0.01,
        subset=500,
        epochs=1,
        batch_size=64,
    )
    run = RunStore(tmp_path).create(settings.to_dict())
    assert run_worker(run.path) == "finished", run.status()["message"]
    assert run.evaluation()["test_accuracy"] > 0.3
    lrs = [r["lr"] for r in run.metrics() if r["kind"] == "batch"]
    assert lrs and max(lrs) > lrs[-1], "the one-cycle rate comes down at the end"


def test_picking_a_preset_fills_the_form_with_its_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(HOME), default_timeout=60).run()
    app.switch_page("../pages/train.py").run()
    app.selectbox(key="train_keras_preset").set_value("fast-cnn").run()
    assert not app.exception
    assert app.select_slider(key="train_keras_batch_size").value == 256
    assert app.number_input(key="train_keras_epochs").value == 2
    assert app.selectbox(key="train_keras_lr_schedule").value == "one-cycle"
    assert app.slider(key="train_keras_beta_1").value == pytest.approx(0.7)
    app.number_input(key="train_keras_epochs").set_value(3).run()
    assert app.number_input(key="train_keras_epochs").value == 3, "a recipe stays editable"
    chart = app.get("plotly_chart")[0].proto.spec
    assert "Learning rate over training (one-cycle schedule)" in chart
    app.selectbox(key="train_keras_lr_schedule").set_value("none").run()
    chart = app.get("plotly_chart")[0].proto.spec
    assert "Learning rate over training" in chart and "schedule)" not in chart


def test_each_engine_keeps_its_form_while_another_is_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(HOME), default_timeout=60).run()
    app.switch_page("../pages/train.py").run()
    app.selectbox(key="train_keras_optimizer").set_value("sgd").run()
    app.selectbox(key="train_keras_normalization").set_value("raw").run()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.segmented_control(key="train_engine").set_value("keras").run()
    assert app.selectbox(key="train_keras_optimizer").value == "sgd"
    assert app.selectbox(key="train_keras_normalization").value == "raw"

"""Settings: validation messages name the allowed values; config.json round trips; the command
line refuses what is not a setting's value in one line."""

import json
import os

import pytest

from mnist_lab.cli.main import main
from mnist_lab.engines.keras_net.settings import KerasSettings


def test_defaults_are_valid_and_round_trip_through_config_json():
    config = KerasSettings(preset="deep-sigmoid", optimizer="sgd", momentum=0.9, nesterov=True)
    data = config.to_dict()
    assert data["engine"] == "keras" and data["label"] == "deep-sigmoid"
    assert len(data["dataset"]["sha256"]) == 64
    assert set(data["versions"]) == {"tensorflow", "keras", "numpy"}
    assert len(data["layers"]) == 5 and data["record_gradients"] is True
    assert KerasSettings.from_dict(data).to_dict() == data


def test_custom_layers_round_trip_and_cnns_skip_gradients_by_default():
    layers = [{"type": "Conv2D", "filters": 4}, {"type": "MaxPool"}]
    data = KerasSettings(preset="custom", layers=layers).to_dict()
    assert data["label"] == "custom" and data["record_gradients"] is False
    assert KerasSettings.from_dict(data).model_layers() == data["layers"]


def test_a_partial_user_config_gets_defaults():
    config = KerasSettings.from_dict({"preset": "softmax", "epochs": 2})
    assert (config.preset, config.epochs, config.batch_size) == ("softmax", 2, 32)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"preset": "resnet"}, "preset must be one of"),
        (
            {"optimizer": "adagrad"},
            r"optimizer must be one of \['sgd', 'adam', 'adamw', 'rmsprop'\]",
        ),
        ({"learning_rate": 0}, r"learning_rate must be a number in \(0, 100\]"),
        ({"learning_rate": "fast"}, "learning_rate must be a number"),
        ({"batch_size": 0}, r"batch_size must be a whole number in \[1, 8192\]"),
        ({"batch_size": 32.5}, "batch_size must be a whole number"),
        ({"epochs": 0}, r"epochs must be a whole number in \[1, 500\]"),
        ({"val_split": 0.9}, r"val_split must be a number in \[0, 0.5\]"),
        ({"normalization": "zscore"}, "normalization must be one of"),
        ({"lr_schedule": "step"}, "lr_schedule must be one of"),
        ({"lr_decay_rate": 0}, r"lr_decay_rate must be a number in \(0, 1\]"),
        ({"subset": 10}, r"subset must be a whole number in \[100, 60000\], or left empty"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"momentum": 0.9}, "apply to optimizer 'sgd' only"),
        ({"optimizer": "sgd", "nesterov": True}, "nesterov needs a momentum"),
        ({"early_stopping_patience": 3, "val_split": 0}, "set val_split > 0"),
        ({"preset": "custom"}, "needs a list of layers"),
        ({"layers": [{"type": "Dense", "units": 5}]}, "only used with preset 'custom'"),
        ({"preset": "custom", "layers": [{"type": "Pool"}]}, "unknown layer type"),
    ],
)
def test_bad_values_name_the_allowed_range(changes, message):
    with pytest.raises(ValueError, match=message):
        KerasSettings(**changes).validate()


def test_from_dict_rejects_unknown_keys_and_other_engines():
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['lr'\]"):
        KerasSettings.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match="engine 'sklearn'"):
        KerasSettings.from_dict({"engine": "sklearn"})


@pytest.mark.parametrize("epochs", ["３", "٣", "१", "1_0", "1.5", "nan"])
def test_numbers_in_other_scripts_digits_are_refused_on_the_command_line(
    epochs, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main(["train", "--engine", "numpy", "--epochs", epochs])
    assert exited.value.code == 2
    assert "digits 0-9" in capsys.readouterr().err
    assert not list(tmp_path.iterdir()), "a refused number left a run behind"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--layers", "[" * 100_000], "--layers is nested too deeply"),
        (["--layers", "[" * 900 + "]" * 900], "nested too deeply"),
        (["--config", "/dev/zero"], "--config /dev/zero: zero is not a regular file"),
        (["--config", "FIFO"], "is not a regular file"),
        (["--config", "LIST_NAME"], "a run name must be text, not list"),
        (["--config", "HUGE"], "epochs must be a whole number"),
    ],
)
def test_bad_command_lines_end_with_one_line_and_no_run(
    arguments, message, tmp_path, monkeypatch, capsys
):
    """Each used to end in a traceback, or to read forever, or to train a run named "['a']"."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs))
    files = {
        "FIFO": tmp_path / "fifo",
        "LIST_NAME": tmp_path / "list.json",
        "HUGE": tmp_path / "huge.json",
    }
    os.mkfifo(files["FIFO"])  # nobody ever writes it: opening it to read would block
    files["LIST_NAME"].write_text(json.dumps({"engine": "numpy", "name": ["a"], "epochs": 1}))
    files["HUGE"].write_text('{"engine": "numpy", "epochs": ' + "9" * 5000 + "}")
    arguments = [str(files.get(argument, argument)) for argument in arguments]
    engine = [] if "--config" in arguments else ["--engine", "keras"]
    assert main(["train", *engine, *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not runs.exists() or not list(runs.iterdir())

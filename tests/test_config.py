"""KerasSettings: validation messages name the allowed values; config.json round trips."""

import pytest

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

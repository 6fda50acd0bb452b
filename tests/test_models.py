"""Architecture specs: presets, custom-layer validation, summaries and the Keras models built."""

import pytest

from mnist_lab.engines.keras_net.models import (
    PRESETS,
    build_model,
    count_params,
    has_convolutions,
    preset_layers,
    summarize_model,
    validate_layers,
)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("softmax", 7_850),
        ("shallow-sigmoid", 15_910),
        ("mlp-relu", 79_510),
        ("deep-sigmoid", 8_400),
    ],
)
def test_known_parameter_counts(preset, expected):
    assert count_params(preset_layers(preset)) == expected


def test_every_preset_has_a_title_a_one_line_description_and_valid_layers():
    for name, preset in PRESETS.items():
        assert preset["title"] and "\n" not in preset["description"], name
        assert validate_layers(preset["layers"]) == preset_layers(name)


def test_summaries_match_the_built_keras_models():
    for name in PRESETS:
        model = build_model(preset_layers(name))
        built = [
            {
                "layer": layer.name,
                "output_shape": list(layer.output.shape[1:]),
                "params": layer.count_params(),
            }
            for layer in model.layers
        ]
        summary = [
            {k: row[k] for k in ("layer", "output_shape", "params")}
            for row in summarize_model(preset_layers(name))
        ]
        assert summary == built, name
        assert model.count_params() == count_params(preset_layers(name))


def test_flatten_is_inserted_and_the_softmax_output_appended():
    rows = summarize_model([{"type": "Conv2D", "filters": 4}, {"type": "Dense", "units": 8}])
    assert [row["type"] for row in rows] == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert rows[1]["output_shape"] == [26 * 26 * 4]
    assert rows[-1] == {
        "layer": "output",
        "type": "Dense",
        "activation": "softmax",
        "output_shape": [10],
        "params": 90,
    }


def test_validate_fills_defaults():
    assert validate_layers(
        [{"type": "Conv2D", "filters": 8}, {"type": "Dropout", "rate": 0.5}]
    ) == [
        {"type": "Conv2D", "filters": 8, "kernel": 3, "activation": "relu", "padding": "valid"},
        {"type": "Dropout", "rate": 0.5},
    ]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"type": "LSTM"}], "unknown layer type 'LSTM'"),
        ([{"type": "Dense"}], "units is required"),
        ([{"type": "Dense", "units": 0}], r"units must be a whole number in \[1, 4096\]"),
        ([{"type": "Dense", "units": 10, "activation": "softmax"}], "activation must be one of"),
        ([{"type": "Dense", "units": 10, "size": 2}], "unknown field"),
        (
            [{"type": "Dense", "units": 10}, {"type": "Conv2D", "filters": 4}],
            "comes after a Flatten or Dense",
        ),
        ([{"type": "Flatten"}, {"type": "MaxPool"}], "layer 2 .MaxPool.: needs image-shaped input"),
        ([{"type": "Flatten"}, {"type": "Flatten"}], "already flat"),
        ([{"type": "Conv2D", "filters": 4, "kernel": 9}] * 4, "larger than its 4x4 input"),
        ([{"type": "MaxPool", "size": 4}] * 3, "pool size 4 is larger"),
        ([{"type": "Dropout", "rate": 1.0}], r"rate must be a number in \[0, 1\)"),
        ("Dense", "must be a list"),
    ],
)
def test_bad_specs_are_rejected_with_the_reason(layers, message):
    with pytest.raises(ValueError, match=message):
        validate_layers(layers)


def test_has_convolutions():
    assert has_convolutions(preset_layers("simple-cnn"))
    assert not has_convolutions(preset_layers("deep-relu"))


def test_unknown_preset_names_the_presets():
    with pytest.raises(ValueError, match="mlp-relu"):
        preset_layers("resnet")

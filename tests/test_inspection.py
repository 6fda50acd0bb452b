"""Inspection helpers on tiny hand-built inputs, one small NumPy run and one tiny Keras model."""

from types import SimpleNamespace

import numpy as np
import pytest

from mnist_lab import inspection
from mnist_lab.data import load_mnist
from mnist_lab.engines import engine_of
from mnist_lab.engines import keras_views as views
from mnist_lab.engines.numpy_net import network, training
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.preprocess import fit_normalizer, save_normalizer
from mnist_lab.runs import RunStore
from mnist_lab.stats import pixel_statistics_by_class


def gradient_records(norms_by_step: list[list[float]], names=("first", "middle", "last")) -> list:
    """``"gradients"`` records, one per step, with the given per-layer norms."""
    return [
        {
            "kind": "gradients",
            "epoch": 1,
            "step": step,
            "layers": [
                {"name": name, "grad_norm": norm, "grad_rms": norm, "activation_mean_abs": 0.5}
                for name, norm in zip(names, norms, strict=False)
            ],
        }
        for step, norms in enumerate(norms_by_step, start=1)
    ]


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    """A NumPy-engine run trained for two epochs on 3000 digits (about a second)."""
    config = NumpyNetSettings(epochs=2, subset=3000, batch_size=16, learning_rate=0.5)
    run = RunStore(tmp_path_factory.mktemp("runs")).create(config.to_dict())
    assert training.train_run(run).state == "finished"
    return run


def test_weight_images_put_unit_i_in_image_i_row_major():
    kernel = np.zeros((784, 2))
    kernel[28 * 3 + 5, 1] = 1.0
    images = inspection.weight_images(kernel)
    assert images.shape == (2, 28, 28) and images[1, 3, 5] == 1.0 and images.sum() == 1.0
    with pytest.raises(ValueError, match=r"\(784, units\)"):
        inspection.weight_images(np.zeros((10, 2)))


def test_filter_images_average_input_channels():
    kernel = np.zeros((3, 3, 2, 4))
    kernel[0, 1, :, 2] = [1.0, 3.0]
    images = inspection.filter_images(kernel)
    assert images.shape == (4, 3, 3) and images[2, 0, 1] == 2.0


def test_gradient_flow_table_is_tidy_and_ignores_other_records():
    records = gradient_records([[1e-3, 1e-2, 1e-1]]) + [{"kind": "epoch", "epoch": 1}]
    table = inspection.gradient_flow_table(records)
    assert table["layer"].tolist() == ["first", "middle", "last"]
    assert table["depth"].tolist() == [0, 1, 2] and table["step"].tolist() == [1, 1, 1]
    assert inspection.gradient_flow_table([]).empty


def test_reading_says_vanishing_for_a_1000x_ratio():
    table = inspection.gradient_flow_table(gradient_records([[1e-4, 1e-2, 1e-1]] * 6))
    reading = inspection.gradient_flow_reading(table)
    assert "vanishing" in reading and "1,000x smaller" in reading and "'first'" in reading
    ratios = inspection.gradient_ratios(table)
    assert ratios.index.tolist() == ["first", "middle", "last"]
    assert ratios.tolist() == pytest.approx([1000, 10, 1])


def test_reading_names_a_weaker_layer_behind_a_wide_first_layer():
    # A 784-input first layer has a larger norm than the 10-unit layer behind it.
    table = inspection.gradient_flow_table(gradient_records([[1e-3, 2e-4, 1e-1]] * 3))
    reading = inspection.gradient_flow_reading(table)
    assert "reaching layer 'middle' are 500x smaller" in reading and "vanishing" in reading
    assert "The first layer ('first') gets 100x less" in reading


def test_reading_says_gradients_flow_for_a_2x_ratio():
    table = inspection.gradient_flow_table(gradient_records([[0.05, 0.07, 0.1]] * 6))
    reading = inspection.gradient_flow_reading(table)
    assert "vanishing" not in reading and "flow well" in reading and "2.0x" in reading


def test_reading_uses_only_the_latest_samples():
    early = [[1e-5, 1e-3, 1e-1]] * 10
    late = [[0.1, 0.1, 0.1]] * 5
    table = inspection.gradient_flow_table(gradient_records(early + late))
    assert "flow well" in inspection.gradient_flow_reading(table, samples=5)
    early_only = inspection.gradient_flow_table(gradient_records(early))
    assert "vanishing" in inspection.gradient_flow_reading(early_only, samples=5)


@pytest.mark.parametrize(
    "norms, words",
    [
        ([0.004, 0.1], "25x smaller than at the last layer ('middle'): the early layers"),
        ([10.0, 0.01], "exploding"),
        ([0.0, 0.1], "No gradient reaches layer 'first'"),
        ([0.1], "Only one layer"),
    ],
)
def test_reading_names_other_regimes(norms, words):
    table = inspection.gradient_flow_table(gradient_records([norms] * 3))
    assert words in inspection.gradient_flow_reading(table)


def test_reading_of_an_empty_table_says_no_records_yet():
    assert "No gradient records" in inspection.gradient_flow_reading(
        inspection.gradient_flow_table([])
    )


def test_histogram_series_per_epoch_shares_sum_to_one():
    records = [
        {
            "kind": "histograms",
            "epoch": epoch,
            "layers": [
                {
                    "name": "hidden",
                    "weights": {"counts": [1, 3], "edges": [-1.0, 0.0, 1.0]},
                    "activations": {"counts": [2, 2], "edges": [0.0, 0.5, 1.0]},
                }
            ],
        }
        for epoch in (0, 1)
    ]
    series = inspection.histogram_series(records, "hidden", "weights")
    assert series["center"].tolist() == [-0.5, 0.5, -0.5, 0.5]
    assert series.groupby("epoch")["share"].sum().tolist() == [1.0, 1.0]
    assert series["density"].tolist()[:2] == [0.25, 0.75]
    assert inspection.histogram_layers(records) == ["hidden"]
    assert inspection.histogram_series(records, "missing").empty
    with pytest.raises(ValueError, match="quantity must be one of"):
        inspection.histogram_series(records, "hidden", "biases")


def test_trained_first_layer_weights_look_more_like_digits_than_initial(numpy_run):
    dataset = load_mnist()
    class_means = np.stack(
        [s.mean for s in pixel_statistics_by_class(dataset.x_train[:5000], dataset.y_train[:5000])]
    )
    initial = network.init_weights(20, seed=0)["W1"]
    trained = engine_of(numpy_run).first_layer_weights(numpy_run)
    initial_score = inspection.digit_structure_score(initial, class_means)
    trained_score = inspection.digit_structure_score(trained, class_means)
    assert initial_score < 0.1 and trained_score > 2 * initial_score


def test_numpy_run_inspection(numpy_run):
    assert engine_of(numpy_run).has_model(numpy_run)
    assert engine_of(numpy_run).first_layer_weights(numpy_run).shape == (20, 28, 28)
    assert engine_of(numpy_run).digit_templates(numpy_run).shape == (10, 28, 28)
    assert engine_of(numpy_run).conv_filters(numpy_run) is None
    outputs = engine_of(numpy_run).layer_outputs(numpy_run, load_mnist().x_test[0])
    assert [(o.name, o.kind, o.values.shape) for o in outputs] == [
        ("hidden", "dense", (20,)),
        ("output", "softmax", (10,)),
    ]
    assert outputs[-1].values.sum() == pytest.approx(1.0, abs=1e-5)
    table = inspection.gradient_flow_table(numpy_run.metrics())
    assert set(table["layer"]) == {"hidden", "output"}
    assert inspection.histogram_layers(numpy_run.metrics()) == ["hidden", "output"]


def test_baseline_templates_are_its_coefficients(tmp_path):
    from mnist_lab.engines.logreg import fit

    run = RunStore(tmp_path).create({"engine": "sklearn", "label": "logreg-baseline"})
    assert not engine_of(run).has_model(run)
    coef = np.arange(7840, dtype=np.float32).reshape(10, 784)
    model = SimpleNamespace(coef_=coef, intercept_=np.zeros(10))
    fit.save_weights(run, model)
    save_normalizer(run, fit_normalizer("scale", np.zeros((1, 28, 28), np.uint8)))
    templates = engine_of(run).digit_templates(run)
    assert templates.shape == (10, 28, 28) and templates[3, 0, 1] == coef[3, 1]
    assert engine_of(run).first_layer_weights(run) is None
    outputs = engine_of(run).layer_outputs(run, np.zeros((28, 28), np.uint8))
    assert [o.kind for o in outputs] == ["softmax"]


@pytest.fixture(scope="module")
def tiny_cnn():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(5, activation="sigmoid", name="dense"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )


def test_keras_layer_outputs_give_feature_maps_units_and_softmax(tiny_cnn):
    x = np.random.default_rng(0).uniform(size=(1, 28, 28, 1)).astype(np.float32)
    outputs = views.keras_layer_outputs(tiny_cnn, x)
    assert [(o.name, o.kind, o.values.shape) for o in outputs] == [
        ("conv", "conv", (4, 26, 26)),
        ("pool", "conv", (4, 13, 13)),
        ("flatten", "other", (676,)),
        ("dense", "dense", (5,)),
        ("output", "softmax", (10,)),
    ]
    assert outputs[-1].values.sum() == pytest.approx(1.0, abs=1e-5)


def test_keras_conv_filters_and_no_dense_first_layer(tiny_cnn, tmp_path, monkeypatch):
    run = RunStore(tmp_path).create({"engine": "keras", "label": "tiny-cnn"})
    monkeypatch.setattr(type(engine_of(run)), "load_model", lambda _engine, _run: tiny_cnn)
    assert engine_of(run).conv_filters(run).shape == (4, 3, 3)
    assert engine_of(run).first_layer_weights(run) is None
    assert engine_of(run).digit_templates(run) is None

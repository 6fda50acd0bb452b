"""Saliency and input gradients on hand-built models with answers known in advance."""

import numpy as np
import pytest

from mnist_lab.engines import Engine, get_engine
from mnist_lab.explain import saliency as sal
from mnist_lab.runs import RunStore
from tests.hand_built import keras_run, linear_run, numpy_net_run

RNG = np.random.default_rng(0)
COEF = RNG.normal(size=(10, 784))
DIGIT = np.zeros((28, 28))
DIGIT[6:22, 12:16] = 255.0
DIGIT[6:9, 8:20] = 180.0


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path)


def finite_difference(run, image, digit, pixels, model=None, h=4.0):
    """d log p(digit) / d pixel by central differences, from predictions only."""
    engine = get_engine(run.config()["engine"])
    values = []
    for row, col in pixels:
        up, down = image.copy(), image.copy()
        up[row, col] += h
        down[row, col] -= h
        p = engine.predict_proba(run, np.stack([up, down]), model=model)[:, digit]
        values.append((np.log(p[0]) - np.log(p[1])) / (2 * h))
    return np.array(values)


def test_a_linear_models_saliency_is_its_weights_times_the_input(store):
    run = linear_run(store, COEF)
    expected = COEF[7].reshape(28, 28) * DIGIT / 255.0
    result = sal.saliency(run, DIGIT, 7, "gradient-x-input")
    np.testing.assert_allclose(result.attribution, expected, rtol=1e-5, atol=1e-9)
    # The path average of a constant gradient is that gradient: the same map.
    ig = sal.integrated_gradients(run, DIGIT, 7)
    np.testing.assert_allclose(ig, expected, rtol=1e-5, atol=1e-9)
    assert result.class_index == 7 and 0 < result.probability < 1
    assert "7" in result.reading


def test_standardized_inputs_divide_the_weights_by_the_std(store):
    x_fit = RNG.integers(0, 256, (100, 28, 28), dtype=np.uint8)
    run = linear_run(store, COEF, normalization="standardize", x_fit=x_fit)
    std = (x_fit / 255.0).std()
    expected = COEF[2].reshape(28, 28) / std * DIGIT / 255.0
    np.testing.assert_allclose(
        sal.gradient_times_input(run, DIGIT, 2), expected, rtol=1e-4, atol=1e-9
    )


def test_numpy_network_gradient_matches_finite_differences(store):
    run = numpy_net_run(store, normalization="standardize")
    engine = get_engine("numpy")
    gradient, probabilities = engine.input_gradient(run, DIGIT, 3, score="log_probability")
    pixels = [(7, 13), (15, 14), (3, 3), (20, 12)]
    expected = finite_difference(run, DIGIT, 3, pixels)
    np.testing.assert_allclose(gradient[0][tuple(zip(*pixels, strict=True))], expected, rtol=1e-2)
    np.testing.assert_allclose(probabilities[0], engine.predict_proba(run, DIGIT)[0], rtol=1e-5)


def test_integrated_gradients_add_up_to_the_score_change(store):
    run = numpy_net_run(store)
    ig = sal.integrated_gradients(run, DIGIT, 4, steps=128, score="log_probability")
    p = get_engine("numpy").predict_proba(run, np.stack([DIGIT, np.zeros((28, 28))]))[:, 4]
    assert ig.sum() == pytest.approx(np.log(p[0]) - np.log(p[1]), rel=0.01)


def test_keras_gradient_matches_finite_differences_with_batch_norm(store):
    layers = [
        {"type": "Conv2D", "filters": 3, "kernel": 3},
        {"type": "BatchNormalization"},
        {"type": "MaxPool", "size": 2},
        {"type": "Dense", "units": 8, "activation": "tanh"},
    ]
    run, model = keras_run(store, layers)
    engine = get_engine("keras")
    # Uneven ink: equal neighbours would tie in the max-pool, where no gradient is unique.
    digit = DIGIT * RNG.uniform(0.5, 1.0, DIGIT.shape)
    images = np.stack([digit, digit.T])
    gradient, probabilities = engine.input_gradient(
        run, images, np.array([1, 5]), model=model, score="log_probability"
    )
    assert gradient.shape == (2, 28, 28) and probabilities.shape == (2, 10)
    pixels = [(8, 13), (14, 14), (20, 15)]
    expected = finite_difference(run, digit, 1, pixels, model=model, h=1.0)
    np.testing.assert_allclose(
        gradient[0][tuple(zip(*pixels, strict=True))], expected, rtol=0.02, atol=1e-6
    )
    # Without a model, the engine loads the saved one: same answer.
    logit_gradient, _ = engine.input_gradient(run, DIGIT, 1)
    assert logit_gradient.shape == (1, 28, 28) and np.abs(logit_gradient).sum() > 0


def test_occlusion_of_a_one_pixel_model_lights_only_that_pixels_patches(store):
    coef = np.zeros((10, 784))
    coef[0, 14 * 28 + 14] = 20.0
    run = linear_run(store, coef)
    result = sal.saliency(run, DIGIT, 0, "occlusion")
    lit = np.argwhere(result.attribution > 0)
    # Only the patches covering pixel (14, 14) hide it: 4x4 patches at steps of 2.
    assert lit.min(axis=0).tolist() == [12, 12] and lit.max(axis=0).tolist() == [17, 17]
    assert np.all(result.attribution >= 0)


def test_every_engine_offers_occlusion_and_gradient_methods_need_gradients():
    class Opaque(Engine):
        name, title = "opaque", "Opaque engine"

    assert sal.available_methods(Opaque()) == ["occlusion"]
    for name in ("keras", "numpy", "sklearn"):
        assert sal.available_methods(get_engine(name)) == list(sal.METHODS)


def test_bad_arguments_are_refused_with_a_message(store):
    run = linear_run(store, COEF)
    with pytest.raises(ValueError, match="28x28"):
        sal.saliency(run, np.zeros((10, 10)), 3, "occlusion")
    with pytest.raises(ValueError, match="method must be one of"):
        sal.saliency(run, DIGIT, 3, "lime")
    with pytest.raises(ValueError, match="digits 0-9"):
        sal.saliency(run, DIGIT, 12, "gradient-x-input")
    with pytest.raises(ValueError, match="score must be one of"):
        get_engine("sklearn").input_gradient(run, DIGIT, 3, score="margin")


def test_readings_say_red_raises_and_speak_of_what_the_page_shows():
    # The page draws ink dark on white paper: "black patches" and "a black image" read as
    # ink added, the opposite of what the models see (no ink is 0).
    for method in sal.METHODS.values():
        reading = method.reading.format(digit=7, patch=4)
        assert "black" not in reading.lower(), reading
        assert reading.index("Red") < reading.index("blue")
    assert "erasing the ink in a 4x4 square" in sal.METHODS["occlusion"].reading.format(
        digit=7, patch=4
    )

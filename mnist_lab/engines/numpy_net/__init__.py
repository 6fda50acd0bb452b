"""The NumPy engine: the classic 784 -> H sigmoid -> 10 network, every derivative by hand.

`network` holds the maths (forward pass, hand-derived gradients, SGD), `training` runs it as
a run, `settings` declares what a run takes. No TensorFlow anywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.engines.numpy_net import network
from mnist_lab.engines.numpy_net.network import WEIGHTS_FILE
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.engines.scores import class_indices, logit_seed
from mnist_lab.inspection import weight_images
from mnist_lab.preprocess import load_normalizer
from mnist_lab.runs import Run, RunOutcome


class NumpyNetEngine(Engine):
    """The from-scratch network: small enough to follow line by line, fast on a CPU."""

    name = "numpy"
    title = "NumPy from scratch"
    description = (
        "The network of the classic exercise, written with NumPy only: forward pass, "
        "hand-derived gradients and plain SGD on mini-batches (see mnist_lab/engines/numpy_net/)."
    )
    settings_class = NumpyNetSettings
    model_files = (WEIGHTS_FILE,)
    differentiable = True

    def train(self, run: Run) -> RunOutcome:
        from mnist_lab.engines.numpy_net.training import train_run

        return train_run(run)

    def _forward(self, run: Run, x_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE)
        return network.forward(network.load_weights(run), load_normalizer(run).transform(x))

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        return np.asarray(self._forward(run, x_uint8)[1], dtype=np.float64)

    def input_gradient(
        self,
        run: Run,
        x: np.ndarray,
        class_index: int | np.ndarray,
        model: Any = None,
        score: str = "logit",
    ) -> tuple[np.ndarray, np.ndarray]:
        """By hand: `network.input_gradient`, then through the normalization."""
        images = np.asarray(x, dtype=np.float64).reshape(-1, *IMAGE_SHAPE)
        weights = {
            name: value.astype(np.float64) for name, value in network.load_weights(run).items()
        }
        normalizer = load_normalizer(run)
        hidden, probabilities = network.forward(
            weights, normalizer.transform(images).astype(np.float64)
        )
        seed = logit_seed(probabilities, class_indices(class_index, len(images)), score)
        gradient = network.input_gradient(weights, hidden, seed).reshape(images.shape)
        return gradient * normalizer.derivative(), probabilities

    def first_layer_weights(self, run: Run, model: Any = None) -> np.ndarray | None:
        return weight_images(network.load_weights(run)["W1"])

    def digit_templates(self, run: Run, model: Any = None) -> np.ndarray | None:
        """``W1 @ W2``: the input direction that raises each digit's logit while the sigmoid
        units sit in their near-linear middle range."""
        weights = network.load_weights(run)
        return weight_images(weights["W1"] @ weights["W2"])

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        hidden, probabilities = self._forward(run, image)
        return [
            LayerOutput("hidden", "dense", hidden[0]),
            LayerOutput("output", "softmax", probabilities[0]),
        ]

    def export_steps(self, run: Run) -> list:
        from mnist_lab.engines.numpy_net.export import export_steps

        return export_steps(run)


ENGINE = NumpyNetEngine()

"""A Gaussian-kernel SVM (scikit-learn's libsvm), the classic method of the MNIST table.

`fit` fits the one-vs-one machine one pair of classes at a time as a run, `settings` declares
what a fit takes, `model` holds it as arrays and predicts with NumPy, `export` writes it as a
scikit-learn script.

How it finishes on all 60,000 digits in minutes on two cores: the digits are projected on
their first 50 principal components before the kernel. The SVM itself is exact (the machine
``SVC`` builds), so the only approximation is the projection, and on MNIST it costs nothing:
on the same 10,000 training digits (scaled pixels, C=10), ``SVC`` on all 784 pixels erred on
2.85% / 2.70% of the test digits (gamma 0.02 / 0.03) in 18 s / 33 s of fitting, on 50
components 2.75% / 2.45% in 2 s (a shared 2-core machine). On all 60,000 digits with the
default settings: 1.34% test error (the published kernel SVM: 1.4%) after 79 s of fitting,
3.6 s to predict the 10,000 test digits, 10,616 support vectors, a 2.3 MB ``model.npz``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.engines.scores import class_indices, logit_seed
from mnist_lab.engines.svm.model import MODEL_FILE, KernelSvm, load_model
from mnist_lab.engines.svm.settings import SvmSettings
from mnist_lab.preprocess import load_normalizer
from mnist_lab.runs import Run, RunOutcome


class SvmEngine(Engine):
    """A one-vs-one Gaussian-kernel SVM on the digits' principal components."""

    name = "svm"
    title = "Kernel SVM (Gaussian)"
    description = (
        "A support vector machine with a Gaussian kernel, one per pair of digits (libsvm), "
        "on the digits' first principal components: the 1.4% row of the MNIST table. "
        "Progress is shown after each of the 45 pairs."
    )
    settings_class = SvmSettings
    model_files = (MODEL_FILE,)
    reuses_finished_runs = True
    differentiable = True

    def train(self, run: Run) -> RunOutcome:
        from mnist_lab.engines.svm.fit import fit_run

        return fit_run(run)

    def load_model(self, run: Run) -> KernelSvm:
        return load_model(run)

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        svm = model if model is not None else load_model(run)
        return svm.predict_proba(self._inputs(run, x_uint8))

    def input_gradient(
        self,
        run: Run,
        x: np.ndarray,
        class_index: int | np.ndarray,
        model: Any = None,
        score: str = "logit",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact: the kernel, the projection and the normalization are all differentiable.

        The "logit" is a class's score before the softmax: the log chance that it beats
        every rival (see `mnist_lab.engines.svm.model`).
        """
        svm = model if model is not None else load_model(run)
        images = np.asarray(x, dtype=np.float64).reshape(-1, *IMAGE_SHAPE)
        inputs = self._inputs(run, images)
        probabilities = svm.predict_proba(inputs)
        seed = logit_seed(probabilities, class_indices(class_index, len(images)), score)
        gradient = svm.score_gradient(inputs, seed).reshape(images.shape)
        return gradient * load_normalizer(run).derivative(), probabilities

    def first_layer_weights(self, run: Run, model: Any = None) -> np.ndarray | None:
        """The principal components the digits are projected on, as 28x28 images."""
        components = (model if model is not None else load_model(run)).components
        return components.reshape(-1, *IMAGE_SHAPE) if len(components) else None

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        svm = model if model is not None else load_model(run)
        z = svm.project(self._inputs(run, image))
        decisions = svm.kernel(z) @ svm.pair_coef + svm.pair_intercept
        outputs = [LayerOutput("pca", "dense", z[0])] if len(svm.components) else []
        return [
            *outputs,
            LayerOutput("pair decisions", "other", decisions[0]),
            LayerOutput("softmax", "softmax", svm.predict_proba(self._inputs(run, image))[0]),
        ]

    def export_steps(self, run: Run) -> list:
        from mnist_lab.engines.svm.export import export_steps

        return export_steps(run)

    def _inputs(self, run: Run, x_uint8: np.ndarray) -> np.ndarray:
        """Images (any float or uint8 0-255) -> normalized flat rows, as in training."""
        images = np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE)
        return load_normalizer(run).transform(images).reshape(len(images), -1)


ENGINE = SvmEngine()

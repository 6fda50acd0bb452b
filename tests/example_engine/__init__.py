"""The worked example of docs/ARCHITECTURE.md: an engine is one package and one registry line.

Nearest class mean: it "trains" by averaging each class's training digits and reads a digit
as the class whose mean it is closest to. Registered for a test only (`tests/test_plugin.py`).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE, random_subset
from mnist_lab.datasets import dataset_of
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.evaluation import write_evaluation
from mnist_lab.files import atomic_write_bytes, read_arrays
from mnist_lab.preprocess import fit_normalizer, load_normalizer, save_normalizer
from mnist_lab.reporter import TrainingReporter
from mnist_lab.runs import Run, RunOutcome
from tests.example_engine.settings import CentroidSettings

CENTROIDS_FILE = "centroids.npz"


class CentroidEngine(Engine):
    """Nearest class mean."""

    name = "centroid"
    title = "Nearest class mean"
    description = "Reads a digit as the class whose mean training digit is closest."
    settings_class = CentroidSettings
    model_files = (CENTROIDS_FILE,)

    def train(self, run: Run) -> RunOutcome:
        settings = self.settings(run)
        data = dataset_of(run)
        x, y = random_subset(data.x_train, data.y_train, settings.subset, settings.seed)
        reporter = TrainingReporter(run, remedy="")
        reporter.begin(epochs=1)
        normalizer = fit_normalizer(settings.normalization, x)
        flat = normalizer.transform(x).reshape(len(x), -1)
        centroids = np.stack([flat[y == label].mean(axis=0) for label in range(data.n_classes)])
        save_normalizer(run, normalizer)
        buffer = io.BytesIO()
        np.savez(buffer, centroids=centroids)
        atomic_write_bytes(run.file(CENTROIDS_FILE), buffer.getvalue())
        reporter.trained(len(x))
        train_accuracy = float((self._probabilities(run, x).argmax(axis=1) == y).mean())
        reporter.end_chunk(
            chunk=1,
            iterations=1,
            loss=0.0,
            accuracy=train_accuracy,
            fraction=1.0,
            position="class means",
            message="Averaged each class's digits.",
        )
        write_evaluation(run, data.y_test, self._probabilities(run, data.x_test))
        reporter.finish()
        return RunOutcome("finished", "Done.")

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        return self._probabilities(run, np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE))

    def digit_templates(self, run: Run, model: Any = None) -> np.ndarray:
        return read_arrays(run.file(CENTROIDS_FILE), ("centroids",))["centroids"].reshape(
            -1, *IMAGE_SHAPE
        )

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        return [LayerOutput("nearest mean", "softmax", self.predict_proba(run, image)[0])]

    def _probabilities(self, run: Run, images: np.ndarray) -> np.ndarray:
        centroids = read_arrays(run.file(CENTROIDS_FILE), ("centroids",))["centroids"]
        flat = load_normalizer(run).transform(images).reshape(len(images), -1)
        distances = ((flat[:, None, :] - centroids[None]) ** 2).mean(axis=2)
        scores = -self.settings(run).sharpness * distances
        scores -= scores.max(axis=1, keepdims=True)
        return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)


ENGINE = CentroidEngine()

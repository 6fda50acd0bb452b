"""k-nearest neighbours: a digit is read as the class most of its closest training digits have.

`neighbours` stores the digits (optionally projected on their principal components) and
searches them, `settings` declares what a run takes, `export` writes it as a scikit-learn
program. Nothing is learned: "training" stores the digits at once, and the time goes into
predicting, which compares every digit with every stored one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.engines.knn.neighbours import MODEL_FILE
from mnist_lab.engines.knn.settings import KnnSettings
from mnist_lab.runs import Run, RunOutcome


class KnnEngine(Engine):
    """k-nearest neighbours over the stored training digits (L1, L2 or L3, optional PCA)."""

    name = "knn"
    title = "k-nearest neighbours"
    description = (
        "Reads a digit as the class most of its k closest training digits have (L1, L2 or L3 "
        "distance, optionally after PCA). Stores the digits at once; predicting the 10,000 "
        "test digits is the slow part."
    )
    settings_class = KnnSettings
    model_files = (MODEL_FILE,)
    # The search is exact and deterministic: the same settings give the same run.
    reuses_finished_runs = True

    def train(self, run: Run) -> RunOutcome:
        from mnist_lab.engines.knn.neighbours import fit_run

        return fit_run(run)

    def load_model(self, run: Run) -> Any:
        """The stored digits, normalized and projected: 188 MB for 60,000 raw digits."""
        from mnist_lab.engines.knn.neighbours import load_model

        return load_model(run, self.settings(run))

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        from mnist_lab.engines.knn.neighbours import predicted_batches

        images = np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE)
        model = model or self.load_model(run)
        return np.concatenate(list(predicted_batches(model, images)))

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        return [LayerOutput("neighbour votes", "softmax", self.predict_proba(run, image, model)[0])]

    def export_steps(self, run: Run) -> list:
        from mnist_lab.engines.knn.export import export_steps

        return export_steps(run)


ENGINE = KnnEngine()

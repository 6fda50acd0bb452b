"""The trees engine: boosted trees or a random forest (scikit-learn), grown stage by stage.

`training` grows them as a run, each stage a point of the live learning curve; `model` holds
the grown trees as arrays (``trees.npz``) and predicts with NumPy alone; `settings` declares
what a run takes; `export` writes the run as a scikit-learn script.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.engines.trees.model import MODEL_FILE, N_FEATURES, TreeModel, load_model
from mnist_lab.engines.trees.settings import TreesSettings
from mnist_lab.preprocess import load_normalizer
from mnist_lab.runs import Run, RunOutcome


class TreesEngine(Engine):
    """Boosted trees or a random forest: many yes/no questions about single pixels."""

    name = "trees"
    title = "Boosted trees or a random forest"
    description = (
        "Decision trees that ask whether one pixel is darker than a threshold, again and "
        "again: boosted (each round corrects the rounds before) or a random forest (deep "
        "trees on resampled digits, averaged). Each stage is a point of the learning curve."
    )
    settings_class = TreesSettings
    model_files = (MODEL_FILE,)

    def train(self, run: Run) -> RunOutcome:
        from mnist_lab.engines.trees.training import train_run

        return train_run(run)

    def load_model(self, run: Run) -> TreeModel:
        """The trees of ``run`` (reading them is worth caching: up to tens of MB)."""
        return load_model(run)

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        images = np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE)
        rows = load_normalizer(run).transform(images).reshape(len(images), N_FEATURES)
        return (model or load_model(run)).predict_proba(rows)

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        return [LayerOutput("trees", "softmax", self.predict_proba(run, image, model)[0])]

    def export_steps(self, run: Run) -> list:
        from mnist_lab.engines.trees.export import export_steps

        return export_steps(run)


ENGINE = TreesEngine()

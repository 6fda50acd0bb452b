"""The baseline engine: multinomial logistic regression (scikit-learn), the yardstick.

`fit` fits it in chunks of L-BFGS iterations as a run, `settings` declares what a fit takes.
Its weights are ten 28x28 templates; a prediction is a softmax of template . x + bias, which
NumPy computes without importing scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.engines.logreg.fit import WEIGHTS_FILE
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.scores import class_indices, logit_seed
from mnist_lab.runs import Run, RunOutcome


class LogregEngine(Engine):
    """Logistic regression: one linear layer and a softmax, fitted to convergence."""

    name = "sklearn"
    title = "Logistic regression baseline"
    description = (
        "Multinomial logistic regression fitted with L-BFGS: the yardstick every network "
        "must beat. The same settings twice are answered from the stored run at once."
    )
    settings_class = LogregSettings
    model_files = (WEIGHTS_FILE,)
    is_baseline = True
    reuses_finished_runs = True
    differentiable = True

    def train(self, run: Run) -> RunOutcome:
        from mnist_lab.engines.logreg.fit import fit_run

        return fit_run(run)

    def fit_estimator(self, settings: LogregSettings, x: np.ndarray, y: np.ndarray) -> Any:
        from mnist_lab.engines.logreg.fit import fit_logistic

        return fit_logistic(x, y, settings).model

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        from mnist_lab.engines.logreg.fit import load_weights

        coef, intercept, normalizer = load_weights(run)
        x = normalizer.transform(np.asarray(x_uint8).reshape(-1, *IMAGE_SHAPE))
        logits = x.reshape(len(x), -1).astype(np.float64) @ coef.T.astype(np.float64) + intercept
        # Subtracting the row maximum keeps exp() from overflowing; softmax is unchanged.
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def input_gradient(
        self,
        run: Run,
        x: np.ndarray,
        class_index: int | np.ndarray,
        model: Any = None,
        score: str = "logit",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact: a logit's gradient is its weight vector, times the normalization's slope."""
        from mnist_lab.engines.logreg.fit import load_weights

        coef, _, normalizer = load_weights(run)
        images = np.asarray(x, dtype=np.float64).reshape(-1, *IMAGE_SHAPE)
        probabilities = self.predict_proba(run, images)
        seed = logit_seed(probabilities, class_indices(class_index, len(images)), score)
        gradient = (seed @ coef.astype(np.float64)).reshape(images.shape)
        return gradient * normalizer.derivative(), probabilities

    def digit_templates(self, run: Run, model: Any = None) -> np.ndarray | None:
        """Each class's weight vector: the score is exactly ``template . x + bias``."""
        from mnist_lab.engines.logreg.fit import load_weights

        return np.asarray(load_weights(run)[0]).reshape(-1, *IMAGE_SHAPE)

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        return [LayerOutput("softmax", "softmax", self.predict_proba(run, image)[0])]

    def export_steps(self, run: Run) -> list:
        from mnist_lab.engines.logreg.export import export_steps

        return export_steps(run)


ENGINE = LogregEngine()

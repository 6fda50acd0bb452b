"""Models trained outside the lab: a notebook's own ``fit``, or a model file brought in.

The lab did not train them and cannot train them again; it watches a notebook's training
(`mnist_lab.callback.LabCallback` reports through the same `TrainingReporter` as every
engine), keeps the model, evaluates it on the test split, and answers the pages like the
Keras engine does. `intake` checks a model and makes its run, `model_file` imports a file,
`model` says how the digits are fed. Keras is imported only when a model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.engines.base import LayerOutput
from mnist_lab.engines.external.intake import MODEL_FILE
from mnist_lab.engines.external.model_file import MAX_MODEL_BYTES, SUFFIXES
from mnist_lab.engines.external.settings import ExternalSettings
from mnist_lab.engines.keras_common import KerasModelEngine
from mnist_lab.runs import Run, RunOutcome, RunStore


class ExternalEngine(KerasModelEngine):
    """A Keras model trained in a notebook or brought in as a file."""

    name = "external"
    title = "Trained outside the lab"
    description = (
        "A Keras model trained in your own notebook or script (with LabCallback) or "
        "brought in as a .keras file: watched, evaluated and explained here, not trained here."
    )
    settings_class = ExternalSettings
    model_files = (MODEL_FILE,)
    differentiable = True
    # What `import_file` takes: for an upload widget's bounds.
    max_file_bytes = MAX_MODEL_BYTES
    file_suffixes = SUFFIXES

    def train(self, run: Run) -> RunOutcome:
        raise ValueError("this model was trained outside the lab; the lab cannot train it again")

    def has_model(self, run: Run) -> bool:
        """Whether the lab can feed the model new digits: not when the notebook's own
        preprocess function fed it (only the notebook has that function)."""
        return super().has_model(run) and self.settings(run).preprocess is None

    def load_model(self, run: Run) -> Any:
        """The run's model, loaded with ``safe_mode=True``."""
        from mnist_lab.engines.keras_common import load_model_file

        if not run.file(MODEL_FILE).exists():
            raise FileNotFoundError(f"run {run.id} has no {MODEL_FILE}")
        return load_model_file(run.file(MODEL_FILE))

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        from mnist_lab.engines.external.intake import predict

        images = np.asarray(x_uint8).reshape(-1, 28, 28)
        return predict(run, model or self.load_model(run), images)

    def input_gradient(
        self,
        run: Run,
        x: np.ndarray,
        class_index: int | np.ndarray,
        model: Any = None,
        score: str = "logit",
    ) -> tuple[np.ndarray, np.ndarray]:
        """By ``tf.GradientTape`` through the model fed as the run records, then the
        normalization (see `keras_gradients.input_gradient`)."""
        from mnist_lab.engines.external.intake import feed
        from mnist_lab.engines.external.model import logits_of
        from mnist_lab.engines.keras_gradients import input_gradient
        from mnist_lab.engines.scores import check_score, class_indices
        from mnist_lab.preprocess import load_normalizer

        images = np.asarray(x, dtype=np.float64).reshape(-1, 28, 28)
        gradient, probabilities = input_gradient(
            model or self.load_model(run),
            feed(run, images),
            class_indices(class_index, len(images)),
            check_score(score),
            logits_of(self.settings(run).outputs),
        )
        return gradient * load_normalizer(run).derivative(), probabilities

    def first_layer_weights(self, run: Run, model: Any = None) -> np.ndarray | None:
        from mnist_lab.engines.keras_views import first_dense_weights

        return first_dense_weights(model or self.load_model(run))

    def conv_filters(self, run: Run, model: Any = None) -> np.ndarray | None:
        from mnist_lab.engines.keras_views import first_conv_filters

        return first_conv_filters(model or self.load_model(run))

    def digit_templates(self, run: Run, model: Any = None) -> np.ndarray | None:
        from mnist_lab.engines.keras_views import softmax_templates

        return softmax_templates(model or self.load_model(run))

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        from mnist_lab.engines.external.intake import feed
        from mnist_lab.engines.keras_views import keras_layer_outputs

        x = feed(run, np.asarray(image, dtype=np.uint8).reshape(1, 28, 28))
        return keras_layer_outputs(model or self.load_model(run), x)

    def import_file(self, store: RunStore, path: str | Path, **options: Any) -> Run:
        """A saved model file as a finished run with its evaluation.

        ``options`` are `model_file.import_model`'s (``name``, ``normalization``,
        ``dataset``, ``owner``); a refusal is a `ValueError` with a one-line reason, and
        leaves no run directory.
        """
        from mnist_lab.engines.external.model_file import import_model

        return import_model(store, path, **options)

    def begin_notebook_run(
        self,
        store: RunStore,
        model: Any,
        *,
        name: str,
        owner: str | None,
        dataset: str,
        normalization: str | None,
        mean: Any = None,
        std: Any = None,
        preprocess: Callable | None = None,
        **recorded: Any,
    ) -> Run:
        """The run of a notebook's ``fit``, training in this process (see `intake.new_run`).

        Raises
        ------
        ValueError
            If the model cannot read the dataset's digits, or an argument is wrong; no run
            directory is made then.
        """
        from mnist_lab.engines.external.intake import mark_training_here, new_run, normalizer_for

        normalizer = (
            None
            if normalization is None
            else normalizer_for(store, normalization, dataset, mean, std)
        )
        run = new_run(
            store,
            model,
            name=name,
            owner=owner,
            dataset=dataset,
            normalizer=normalizer,
            preprocess=None if preprocess is None else _function_name(preprocess),
            source="notebook",
            **recorded,
        )
        mark_training_here(run)
        return run

    def end_notebook_run(self, run: Run, model: Any, preprocess: Callable | None = None) -> dict:
        """Save the trained model and evaluate it on the test split; the evaluation."""
        from mnist_lab.engines.external.intake import save_and_evaluate

        return save_and_evaluate(run, model, preprocess)


def _function_name(function: Callable) -> str:
    """How a preprocess function is recorded: its qualified name."""
    return getattr(function, "__qualname__", None) or repr(function)


ENGINE = ExternalEngine()

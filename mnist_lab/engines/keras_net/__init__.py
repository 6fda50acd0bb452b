"""The Keras engine: any stack of Dense, Conv2D, pooling, dropout and batch-norm layers.

`settings` declares what a run takes, `models` turns a layer spec into a ``keras.Sequential``,
`callbacks` and `training` train it as a run, `views` looks inside a trained model. TensorFlow
is imported only when a run is trained, loaded or inspected.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mnist_lab.engines.base import LayerOutput, Schedule
from mnist_lab.engines.keras_common import KerasModelEngine
from mnist_lab.engines.keras_net.files import CHECKPOINT_FILE, MODEL_FILE
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.runs import Run, RunOutcome


class KerasNetEngine(KerasModelEngine):
    """Keras networks: presets from softmax regression to a strong CNN, or custom layers."""

    name = "keras"
    title = "Keras network"
    description = (
        "A network built with Keras layers, trained with model.fit: pick a preset or stack "
        "your own Dense, Conv2D, pooling, dropout and batch-normalization layers."
    )
    settings_class = KerasSettings
    # A live run can be inspected from its last epoch checkpoint.
    model_files = (MODEL_FILE, CHECKPOINT_FILE)
    differentiable = True
    # The fast CNN with its recipe: 99.2% or better on every seed of 0-9, in seconds.
    one_click = {"preset": "fast-cnn"}

    def learning_rate_schedule(self, settings: KerasSettings, n_train: int) -> Schedule:
        from mnist_lab.engines.keras_net.schedules import schedule_rates

        images = (settings.subset or n_train) * (1 - settings.val_split)
        steps_per_epoch = max(1, math.ceil(images / settings.batch_size))
        epochs, rates = schedule_rates(settings, steps_per_epoch)
        return Schedule(settings.lr_schedule, epochs, rates)

    def warm_up(self) -> None:
        """Import Keras (TensorFlow): seconds of CPU that a first prediction should not wait."""
        import keras  # noqa: F401

    def train(self, run: Run) -> RunOutcome:
        from mnist_lab.engines.keras_net.training import train_run

        return train_run(run)

    def load_model(self, run: Run) -> Any:
        """The run's model, loaded with ``safe_mode=True`` (see `training.load_trained_model`)."""
        from mnist_lab.engines.keras_net.training import load_trained_model

        return load_trained_model(run)

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        from mnist_lab.engines.keras_net.training import predict_proba

        return np.asarray(predict_proba(run, x_uint8, model=model), dtype=np.float64)

    def input_gradient(
        self,
        run: Run,
        x: np.ndarray,
        class_index: int | np.ndarray,
        model: Any = None,
        score: str = "logit",
    ) -> tuple[np.ndarray, np.ndarray]:
        """By ``tf.GradientTape`` (see `keras_gradients.input_gradient`), then the
        normalization."""
        from mnist_lab.engines import keras_gradients as gradients
        from mnist_lab.engines.scores import check_score, class_indices
        from mnist_lab.preprocess import load_normalizer

        images = np.asarray(x, dtype=np.float64).reshape(-1, 28, 28)
        normalizer = load_normalizer(run)
        gradient, probabilities = gradients.input_gradient(
            model or self.load_model(run),
            normalizer.transform(images)[..., np.newaxis],
            class_indices(class_index, len(images)),
            check_score(score),
        )
        return gradient * normalizer.derivative(), probabilities

    def first_layer_weights(self, run: Run, model: Any = None) -> np.ndarray | None:
        from mnist_lab.engines import keras_views as views

        return views.first_dense_weights(model or self.load_model(run))

    def conv_filters(self, run: Run, model: Any = None) -> np.ndarray | None:
        from mnist_lab.engines import keras_views as views

        return views.first_conv_filters(model or self.load_model(run))

    def digit_templates(self, run: Run, model: Any = None) -> np.ndarray | None:
        from mnist_lab.engines import keras_views as views

        return views.softmax_templates(model or self.load_model(run))

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        from mnist_lab.engines import keras_views as views
        from mnist_lab.preprocess import load_normalizer

        image = np.asarray(image, dtype=np.uint8).reshape(1, 28, 28)
        x = load_normalizer(run).transform(image)[..., np.newaxis]
        return views.keras_layer_outputs(model or self.load_model(run), x)

    def export_steps(self, run: Run) -> list:
        from mnist_lab.engines.keras_net.export import export_steps

        return export_steps(run)


ENGINE = KerasNetEngine()

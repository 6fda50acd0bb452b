"""What every engine offers: the surface the worker, the pages and the CLI rely on.

An engine is one way of training a model on the digits (a Keras network, the from-scratch
NumPy network, the logistic-regression baseline). Each is a subclass of `Engine` in its own
module under ``mnist_lab/engines/`` with one instance, listed in the registry
(`mnist_lab.engines.ENGINES`). Callers ask the registry for the engine of a run and call
these methods; they never compare engine names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mnist_lab.files import read_arrays
from mnist_lab.runs import Run, RunOutcome
from mnist_lab.settings import Settings

if TYPE_CHECKING:
    from mnist_lab.engines.code import CodeStep


@dataclass(frozen=True)
class LayerOutput:
    """What one layer produced for one input image.

    Attributes
    ----------
    name : str
        The layer's name (``hidden``, ``dense_1``, ``conv2d``...).
    kind : {"dense", "conv", "softmax", "other"}
        ``conv``: ``values`` are feature maps ``(channels, height, width)``; ``dense`` and
        ``softmax``: one value per unit; ``other``: flattened values of any other layer.
    values : numpy.ndarray
    """

    name: str
    kind: str
    values: np.ndarray


@dataclass(frozen=True)
class Schedule:
    """A run's learning rate over training, for drawing it before launch.

    Attributes
    ----------
    name : str
        The schedule's name (``one-cycle``, ``cosine``...).
    epochs : list of float
        Where each point lies, in epochs from the start.
    rates : list of float
        The learning rate there.
    """

    name: str
    epochs: list[float]
    rates: list[float]


class Engine:
    """Base class of the engines; the views default to "this engine has none".

    Class attributes
    ----------------
    name : str
        The registry name, written to every run's ``config.json`` as ``engine``.
    title, description : str
        What the Train page shows.
    settings_class : type of Settings
        The engine's declared settings.
    model_files : tuple of str
        The run files that hold a trained model, preferred first.
    is_baseline : bool
        Whether its runs are the yardstick the networks are measured against.
    reuses_finished_runs : bool
        Whether a launch with the settings of a finished run is answered from that run
        (for a deterministic fit that is quick to look up but slow to repeat).
    differentiable : bool
        Whether `input_gradient` says how each pixel moves a class's score (saliency and
        adversarial digits need it; occlusion works for every engine).
    one_click : dict or None
        The settings of a good model this engine trains in seconds (a preset with its
        recipe): what the one-click button trains. At most one engine offers one.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    settings_class: ClassVar[type[Settings]]
    model_files: ClassVar[tuple[str, ...]]
    is_baseline: ClassVar[bool] = False
    reuses_finished_runs: ClassVar[bool] = False
    differentiable: ClassVar[bool] = False
    one_click: ClassVar[dict | None] = None

    def __repr__(self) -> str:
        return f"<engine {self.name}>"

    def settings(self, run: Run) -> Settings:
        """The validated settings of ``run`` (raises ``ValueError`` if they are not valid)."""
        return self.settings_class.from_dict(run.config())

    def learning_rate_schedule(self, settings: Settings, n_train: int) -> Schedule | None:
        """The learning rate over training under ``settings``, or None if it has no schedule.

        Parameters
        ----------
        settings : Settings
            This engine's settings.
        n_train : int
            Training images of the chosen dataset (before the subset and validation split).
        """
        return None

    def warm_up(self) -> None:
        """Import what the first prediction or training would wait for (a framework)."""

    def train(self, run: Run) -> RunOutcome:
        """Train ``run`` and leave a complete run directory; the worker's entry point."""
        raise NotImplementedError

    def model_file(self, run: Run) -> Path | None:
        """The file holding ``run``'s trained model, or None if it saved none yet."""
        return next((run.file(n) for n in self.model_files if run.file(n).exists()), None)

    def has_model(self, run: Run) -> bool:
        """Whether ``run`` saved trained weights that can be asked and inspected."""
        return self.model_file(run) is not None

    def load_model(self, run: Run) -> Any:
        """A loaded model worth caching between calls, or None when reading is cheap."""
        return None

    def count_parameters(self, run: Run) -> int | None:
        """The numbers ``run``'s saved model holds, counted in the model file itself.

        What an assignment's ``parameters`` constraint is graded on, never ``config.json``'s
        claim. By default every array of the engine's ``.npz`` model file (weights, biases,
        stored digits, tree nodes); an engine that saves another kind of file overrides it.

        Returns
        -------
        int or None
            None when the run saved no model.

        Raises
        ------
        DamagedRunError
            If the model file cannot be read.
        """
        path = self.model_file(run)
        if path is None:
            return None
        return int(sum(array.size for array in read_arrays(path, None).values()))

    def fit_estimator(self, settings: Settings, x: np.ndarray, y: np.ndarray) -> Any:
        """A model of these settings fitted in memory, with no run directory.

        For judges that must not see the digits they judge (cross-validation): only
        engines quick to fit on arrays offer it.

        Parameters
        ----------
        settings : Settings
            The engine's settings (their normalization is the caller's business).
        x : numpy.ndarray
            Normalized, flattened digits ``(n, n_features)``.
        y : numpy.ndarray
            Their labels.

        Returns
        -------
        Any
            A fitted scikit-learn-style estimator (``predict_proba``, ``classes_``).
        """
        raise NotImplementedError(f"the {self.title} engine fits no models in memory")

    def predict_proba(self, run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
        """Class probabilities of raw 0-255 images, normalized exactly as in training.

        Parameters
        ----------
        run : Run
            A run with a saved model (see `has_model`).
        x_uint8 : numpy.ndarray
            One image ``(28, 28)`` or a batch ``(n, 28, 28)``, white ink on black.
        model : Any, optional
            What `load_model` returned, if the caller cached it.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, 10)``, each row summing to 1.
        """
        raise NotImplementedError

    def input_gradient(
        self,
        run: Run,
        x: np.ndarray,
        class_index: int | np.ndarray,
        model: Any = None,
        score: str = "logit",
    ) -> tuple[np.ndarray, np.ndarray]:
        """How fast each image's class score changes with each pixel (if `differentiable`).

        Parameters
        ----------
        run : Run
            A run with a saved model.
        x : numpy.ndarray
            One image ``(28, 28)`` or a batch ``(n, 28, 28)``, pixel values 0-255 (floats
            allowed), white ink on black.
        class_index : int or numpy.ndarray
            The class whose score is differentiated: one for every image, or one per image.
        model : Any, optional
            What `load_model` returned, if the caller cached it.
        score : {"logit", "log_probability"}
            The class's score before the softmax, or its log-probability
            (see `mnist_lab.engines.scores`).

        Returns
        -------
        gradient : numpy.ndarray
            float64 ``(n, 28, 28)``: d score / d pixel, per grey level of 0-255.
        probabilities : numpy.ndarray
            ``(n, 10)``, the prediction at ``x`` the gradient was computed on the way to.
        """
        raise NotImplementedError(f"the {self.name} engine gives no input gradients")

    def first_layer_weights(self, run: Run, model: Any = None) -> np.ndarray | None:
        """The first dense layer's weights as ``(units, 28, 28)`` images, or None."""
        return None

    def conv_filters(self, run: Run, model: Any = None) -> np.ndarray | None:
        """The first convolution's filters as ``(filters, h, w)`` images, or None."""
        return None

    def digit_templates(self, run: Run, model: Any = None) -> np.ndarray | None:
        """Ten 28x28 images of the pixels that raise each digit's score, or None."""
        return None

    def layer_outputs(self, run: Run, image: np.ndarray, model: Any = None) -> list[LayerOutput]:
        """What every layer outputs for one uint8 28x28 image, first to last."""
        raise NotImplementedError

    def export_steps(self, run: Run) -> list[CodeStep]:
        """``run`` as the steps of a program that retrains it without ``mnist_lab``.

        `mnist_lab.export.export_run` writes them as a script or a notebook.

        Raises
        ------
        ValueError
            If this engine, or this run's settings, cannot be exported (saying why).
        """
        raise ValueError(f"runs of the {self.title} engine cannot be exported as code")

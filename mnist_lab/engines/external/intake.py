"""A model coming in from outside: checked, given a run, saved and evaluated like the lab's.

`new_run` checks everything it can before the run directory exists (the name, the owner, the
dataset, the model's input and outputs, the normalization), so a refused model leaves
nothing behind. `save_and_evaluate` ends any such run: the model file, then the test split
of its dataset fed the way the run records (`feed`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from mnist_lab.datasets import DatasetStore, dataset_of
from mnist_lab.engines.external.model import describe, model_input, probabilities
from mnist_lab.engines.external.settings import ExternalSettings
from mnist_lab.engines.keras_common import predict_outputs, save_model_atomically
from mnist_lab.evaluation import write_evaluation
from mnist_lab.files import now_iso
from mnist_lab.ownership import OWNER_ENV
from mnist_lab.preprocess import (
    Normalizer,
    check_normalization,
    fit_normalizer,
    load_normalizer,
    save_normalizer,
)
from mnist_lab.processes import process_start_time
from mnist_lab.runs import Run, RunStore, validate_owner_name, validate_run_name

MODEL_FILE = "model.keras"
PREDICT_BATCH_SIZE = 1024
# Normalizations whose constants are fitted; a notebook may give its own (mean=, std=).
FITTED = ("standardize", "per-pixel")


def normalizer_for(
    store: RunStore, name: str, dataset: str, mean: Any = None, std: Any = None
) -> Normalizer:
    """The normalization ``name`` with the given constants, else fitted on the training split.

    Raises
    ------
    ValueError
        For an unknown name, constants given to a normalization without any, or constants
        of the wrong shape.
    """
    check_normalization(name)
    if mean is None and std is None:
        if name not in FITTED:
            return Normalizer(name)
        return fit_normalizer(name, DatasetStore(store.root).load(dataset).x_train)
    if name not in FITTED:
        raise ValueError(f"mean and std are constants of {list(FITTED)}, not of {name!r}")
    return Normalizer.from_dict({"name": name, "mean": mean, "std": std})


def new_run(
    store: RunStore,
    model: Any,
    *,
    name: str,
    owner: str | None,
    dataset: str,
    normalizer: Normalizer | None,
    preprocess: str | None = None,
    **recorded: Any,
) -> Run:
    """A run for ``model`` in ``store``, once every check passed; its normalizer saved.

    Parameters
    ----------
    store : RunStore
    model : keras.Model
        A built model (see `model.describe` for what it must take and give).
    name : str
        The run's name.
    owner : str or None
        Who trained it; ``$MNIST_LAB_USER`` when None.
    dataset : str
        The dataset it is evaluated on (its test split).
    normalizer : Normalizer or None
        How the lab feeds it digits; None when the notebook's own function does.
    preprocess : str, optional
        That function's name.
    **recorded
        Other `ExternalSettings` fields (``source``, ``batch_size``, ``epochs``...).

    Raises
    ------
    ValueError
        If any check fails; no run directory is made then.
    """
    name = validate_run_name(name)
    owner = owner or os.environ.get(OWNER_ENV) or None
    owner = None if owner is None else validate_owner_name(owner)
    n_classes = DatasetStore(store.root).n_classes(dataset)
    settings = ExternalSettings(
        normalization=None if normalizer is None else normalizer.name,
        preprocess=preprocess,
        dataset=dataset,
        **describe(model, n_classes),
        **recorded,
    ).validate()
    run = store.create(settings.to_dict(), name=name, owner=owner)
    if normalizer is not None:
        save_normalizer(run, normalizer)
    return run


def mark_training_here(run: Run) -> None:
    """The run trains in this process: recorded as a worker's is, so its death is seen."""
    pid = os.getpid()
    run.update_status(
        state="running",
        pid=pid,
        pid_start=process_start_time(pid),
        started=now_iso(),
        message="Training in a notebook.",
    )


def feed(run: Run, images: np.ndarray, preprocess: Callable | None = None) -> np.ndarray:
    """uint8 digits ``(n, 28, 28)`` as ``run``'s model takes them.

    By the run's normalizer, or by ``preprocess`` (the notebook's own function, which only
    the notebook has).
    """
    settings = ExternalSettings.from_dict(run.config())
    if preprocess is not None:
        prepared = preprocess(np.asarray(images, dtype=np.uint8))
    elif settings.preprocess is not None:
        raise ValueError(
            f"this run's digits were fed by the notebook's function {settings.preprocess!r}, "
            "which the lab cannot run: it cannot feed the model new digits"
        )
    else:
        prepared = load_normalizer(run).transform(images)
    return model_input(prepared, settings.input_shape)


def predict(run: Run, model: Any, images: np.ndarray, preprocess: Callable | None = None):
    """Class probabilities of uint8 digits ``(n, 28, 28)`` by ``run``'s model."""
    outputs = predict_outputs(model, feed(run, images, preprocess), PREDICT_BATCH_SIZE)
    return probabilities(outputs, ExternalSettings.from_dict(run.config()).outputs)


def save_and_evaluate(run: Run, model: Any, preprocess: Callable | None = None) -> dict:
    """Save the model and write its evaluation on the test split of the run's dataset.

    Returns
    -------
    dict
        The evaluation written (see `mnist_lab.evaluation.write_evaluation`).
    """
    save_model_atomically(model, run.file(MODEL_FILE))
    data = dataset_of(run)
    run.update_status(message=f"Evaluating on the {len(data.x_test):,} test images.")
    return write_evaluation(
        run, data.y_test, predict(run, model, data.x_test, preprocess), class_names=data.class_names
    )

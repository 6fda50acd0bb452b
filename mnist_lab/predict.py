"""One way to ask any trained run what digit an image shows, whatever engine trained it.

The Playground and the Lessons pages call `predict_proba` without caring whether a run is a
Keras network, the scikit-learn baseline or the NumPy network; each engine keeps its own
loader and normalization, this module only dispatches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.inspection import engine_of, has_model
from mnist_lab.runs import DamagedRunError, Run, RunStore

# Runs that ended with a model worth asking: a stopped run keeps (and evaluates) its model.
USABLE_STATES = ("finished", "stopped")


def predict_proba(run: Run, x_uint8: np.ndarray, model: Any = None) -> np.ndarray:
    """Class probabilities of raw 0-255 images, from any engine's trained run.

    Parameters
    ----------
    run : Run
        A run with a saved model (see `usable_runs`).
    x_uint8 : numpy.ndarray
        One image ``(28, 28)`` or a batch ``(n, 28, 28)`` of pixel values 0-255, white ink
        on black as in MNIST (see `mnist_lab.handwriting.to_mnist`).
    model : keras.Model, optional
        A Keras run's model if the caller already loaded it (pages cache it); ignored for
        the other engines, whose weights are small enough to read on every call.

    Returns
    -------
    numpy.ndarray
        float64 probabilities of shape ``(n, 10)``, each row summing to 1.

    Raises
    ------
    ValueError
        If the run's engine is not one of keras, sklearn or numpy.
    FileNotFoundError
        If the run has no saved model.
    """
    engine = engine_of(run)
    if engine == "keras":
        from mnist_lab.training import predict_proba as predict_keras

        probabilities = predict_keras(run, x_uint8, model=model)
    elif engine == "sklearn":
        from mnist_lab.baseline import predict_proba_baseline

        probabilities = predict_proba_baseline(run, x_uint8)
    elif engine == "numpy":
        from mnist_lab.scratch import predict_proba_scratch

        probabilities = predict_proba_scratch(run, x_uint8)
    else:
        raise ValueError(f"unknown engine {engine!r}; expected one of keras, sklearn, numpy")
    return np.asarray(probabilities, dtype=np.float64)


def usable_runs(store: RunStore) -> list[Run]:
    """Finished or stopped runs that saved a model, newest first; damaged runs are skipped.

    Parameters
    ----------
    store : RunStore

    Returns
    -------
    list of Run
    """
    runs = []
    for run in store.list():
        try:
            if run.status()["state"] in USABLE_STATES and has_model(run):
                runs.append(run)
        except DamagedRunError:
            continue
    return runs

"""One way to ask any trained run what digit an image shows, whatever engine trained it.

The Playground and the Lessons pages call `predict_proba` without caring whether a run is a
Keras network, the scikit-learn baseline or the NumPy network; each engine keeps its own
loader and normalization (`mnist_lab.engines`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_lab.engines import engine_of, get_engine
from mnist_lab.run_summary import summary
from mnist_lab.runs import Run, RunStore

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
    model : Any, optional
        What the run's engine's ``load_model`` returned, if the caller cached it (pages
        cache Keras models); engines whose weights are cheap to read ignore it.

    Returns
    -------
    numpy.ndarray
        float64 probabilities of shape ``(n, 10)``, each row summing to 1.

    Raises
    ------
    ValueError
        If the run names no registered engine.
    FileNotFoundError
        If the run has no saved model.
    """
    probabilities = engine_of(run).predict_proba(run, x_uint8, model=model)
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
            # A damaged evaluation makes the summary's state "damaged": such a run is not offered.
            row = summary(run)
            if row["state"] in USABLE_STATES and get_engine(row["engine"]).has_model(run):
                runs.append(run)
        except ValueError:
            # Damaged (DamagedRunError is a ValueError) or trained by an unknown engine.
            continue
    return runs

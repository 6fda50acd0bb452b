"""Back to the notebook: `load_run` hands any run of the lab to a student's own code.

The model comes from the run's engine (`Engine.load_model`), predictions on new digits go
through the engine too (`LoadedRun.predict_proba`), so a run of any engine with a model can
be continued, compared or plotted in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.engines import Engine, engine_of
from mnist_lab.evaluation import load_predictions
from mnist_lab.preprocess import NORMALIZER_FILE, Normalizer, load_normalizer
from mnist_lab.runs import Run, RunStore
from mnist_lab.settings import Settings


@dataclass(frozen=True)
class LoadedRun:
    """One run of the lab, ready for a notebook.

    Attributes
    ----------
    run : Run
        Its directory (status, metrics, evaluation).
    engine : Engine
        The engine that trained it.
    model : Any
        What the engine loads as its model (a ``keras.Model`` for Keras networks and models
        trained outside the lab); None for engines whose weights are plain arrays read at
        each prediction.
    settings : Settings
        Its validated settings.
    normalizer : Normalizer or None
        How 0-255 digits are prepared for it; None if it records none.
    y_test, test_probabilities : numpy.ndarray or None
        The test labels and its predicted probabilities ``(n_test, n_classes)``; None
        before it was evaluated.
    """

    run: Run
    engine: Engine
    model: Any
    settings: Settings
    normalizer: Normalizer | None
    y_test: np.ndarray | None
    test_probabilities: np.ndarray | None

    def predict_proba(self, x_uint8: np.ndarray) -> np.ndarray:
        """Class probabilities of 0-255 digits ``(28, 28)`` or ``(n, 28, 28)``, by its engine."""
        return self.engine.predict_proba(self.run, x_uint8, model=self.model)


def load_run(run_id: str, runs_dir: str | Path | None = None) -> LoadedRun:
    """The model, settings, normalizer and test predictions of the run ``run_id``.

    Parameters
    ----------
    run_id : str
        The run's id (its directory's name, as the pages and ``python -m mnist_lab runs``
        show it).
    runs_dir : str or Path, optional
        The runs directory; ``$MNIST_LAB_RUNS_DIR``, else ``runs/``, when omitted.

    Returns
    -------
    LoadedRun

    Raises
    ------
    KeyError
        If there is no such run.
    ValueError
        If it has no saved model yet, or its files are damaged (`DamagedRunError`).

    Examples
    --------
    >>> loaded = load_run("20260101-120000-000-fast-cnn-ab12")  # doctest: +SKIP
    >>> loaded.test_probabilities.argmax(axis=1)[:5]  # doctest: +SKIP
    """
    run = RunStore(runs_dir).get(run_id)
    engine = engine_of(run)
    if engine.model_file(run) is None:
        raise ValueError(f"run {run_id} has saved no model (yet)")
    evaluated = run.evaluation() is not None
    y_test, probabilities = load_predictions(run) if evaluated else (None, None)
    return LoadedRun(
        run=run,
        engine=engine,
        model=engine.load_model(run),
        settings=engine.settings(run),
        normalizer=load_normalizer(run) if run.file(NORMALIZER_FILE).exists() else None,
        y_test=y_test,
        test_probabilities=probabilities,
    )

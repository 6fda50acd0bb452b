"""What pages read of each run, cached once per server for every session.

Each cache is keyed by the version of the file it reads (its modification time, or
`mnist_lab.files.file_version`), so a new epoch, evaluation or checkpoint is read afresh: a
run's records, its predictions and its loaded model. What run lists read of each run is
`mnist_lab.run_summary`'s.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_lab import evaluation as ev
from mnist_lab.engines import engine_of
from mnist_lab.files import file_version
from mnist_lab.records import METRICS_FILE
from mnist_lab.runs import Run


@st.cache_data(max_entries=8, show_spinner=False)
def cached_predictions(run_dir: str, mtime: float) -> tuple[np.ndarray, np.ndarray]:
    """A run's test predictions, ``(y_true, probabilities)``, cached.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    mtime : float
        The predictions file's modification time: only the cache key, so a rewrite reloads.

    Returns
    -------
    tuple of numpy.ndarray
        As :func:`mnist_lab.evaluation.load_predictions` returns them.
    """
    return ev.load_predictions(Run(run_dir))


# A live run's records change every second: a few versions of a few runs are plenty.
@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_metrics(run_dir: str, version: tuple[int, ...] | None) -> list[dict]:
    return Run(run_dir).metrics()


def metrics_version(run: Run) -> tuple[int, ...] | None:
    """The `file_version` of the run's ``metrics.jsonl``: None before it has one."""
    return file_version(run.file(METRICS_FILE))


def metrics_of(run: Run, version: tuple[int, ...] | None = None) -> list[dict]:
    """The run's records (`Run.metrics`), parsed once per version for every session.

    Parameters
    ----------
    run : Run
    version : tuple of int, optional
        Its `metrics_version`, if the caller already has it (read here when omitted).

    Returns
    -------
    list of dict
        Shared by every caller: do not modify.
    """
    return _cached_metrics(str(run.path), version or metrics_version(run))


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def _loaded_model(run_path: str, saved_at: float):
    """One loaded model per run and save time, shared by every rerun and session."""
    run = Run(run_path)
    return engine_of(run).load_model(run)


def model_of(run: Run):
    """The run's loaded model (cached), or None if it has none or needs no loading.

    Engines whose models are costly to load (Keras: TensorFlow) return one from
    ``load_model``; the others read their small weights on every call. The cache key holds
    the model file's modification time, so a run that saves a newer checkpoint or its
    final model is loaded afresh.
    """
    model_file = engine_of(run).model_file(run)
    if model_file is None:
        return None
    return _loaded_model(str(run.path), model_file.stat().st_mtime)

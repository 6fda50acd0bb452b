"""What pages read of each run, cached once per server for every session.

Each cache is keyed by the version of the file it reads (its modification time, or
`mnist_lab.files.file_version`), so a new epoch, evaluation or checkpoint is read afresh: a
run's records as tables, its predictions and its loaded model. What run lists read of each run is
`mnist_lab.run_summary`'s.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from mnist_lab import evaluation as ev
from mnist_lab import records
from mnist_lab.engines import engine_of
from mnist_lab.files import file_version
from mnist_lab.hints import Hint, run_hints
from mnist_lab.records import METRICS_FILE
from mnist_lab.runs import CONFIG_FILE, Run


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


@dataclass(frozen=True)
class Curves:
    """A run's records as the live panel draws them: its summary records, its batch windows.

    ``version`` is the records file's version; ``summary_key`` a digest of the summary
    records alone, which change once an epoch while batches arrive every second.
    """

    version: tuple[int, ...] | None
    summary_key: str
    summary: records.Summary
    epochs: pd.DataFrame
    batches: pd.DataFrame


# A live run's records change every second: a few versions of a few runs are plenty.
@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_curves(run_dir: str, version: tuple[int, ...] | None) -> Curves:
    metrics = Run(run_dir).metrics()
    summary = records.summary(metrics)
    text = json.dumps([summary.x, summary.records], sort_keys=True, default=str)
    summary_key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    batches = pd.DataFrame(records.of_kind(metrics, "batch"))
    return Curves(version, summary_key, summary, pd.DataFrame(summary.records), batches)


def curves_of(run: Run) -> Curves:
    """The run's records as tables (`records.summary` and its batches), once per version.

    Shared by every session: do not modify them.
    """
    return _cached_curves(str(run.path), file_version(run.file(METRICS_FILE)))


@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_hints(run_dir: str, versions: tuple) -> list[Hint]:
    run = Run(run_dir)
    return run_hints(run.metrics(), run.config())


def hints_of(run: Run) -> list[Hint]:
    """`mnist_lab.hints.run_hints` of the run, once per version of its records and settings.

    Raises
    ------
    DamagedRunError
        If its config.json is damaged.
    """
    versions = (file_version(run.file(METRICS_FILE)), file_version(run.file(CONFIG_FILE)))
    return _cached_hints(str(run.path), versions)


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

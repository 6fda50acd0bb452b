"""Figures shared by every session: built once per version of what they show.

A figure cached as a resource is one object that every session's ``st.plotly_chart`` reads;
cached as data it would be a pickled copy per session, which plotly re-validates, and
rebuilding it costs a class's server more than the rest of the page. Each key holds the
version of the file the figure shows (its modification time, or `runs.file_version`), so a
new epoch or a new evaluation builds a new figure. Nothing here may be modified after it is
returned.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.dataset_cache import cached_predictions, run_dataset
from dashboard.ui.data.figures import class_distribution_figure
from dashboard.ui.evaluate.figures.evaluation import confusion_figure, probability_gallery_figure
from dashboard.ui.evaluate.figures.explain import saliency_figure
from dashboard.ui.train.figures.curves import learning_curve_figure
from dashboard.ui.train.figures.schedules import schedule_figure
from mnist_lab.data import MnistDataset
from mnist_lab.runs import Run


@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_class_distribution_figure(
    sha256: str, measure: str, height: int, _counts: pd.DataFrame, _class_names: tuple[str, ...]
) -> go.Figure:
    """`class_distribution_figure` of a dataset, built once for every session.

    Parameters
    ----------
    sha256 : str
        The dataset's checksum: with ``measure`` and ``height``, the cache key.
    measure : {"count", "share"}
    height : int
        Figure height in pixels.
    _counts : pandas.DataFrame
        The dataset's class counts (``cached_class_counts``).
    _class_names : tuple of str
        The dataset's class names.
    """
    return class_distribution_figure(_counts, measure, list(_class_names), height=height)


def dataset_distribution_figure(
    dataset: MnistDataset, counts: pd.DataFrame, measure: str, height: int = 320
) -> go.Figure:
    """`class_distribution_figure` of ``dataset`` with its ``counts``, built once for all."""
    return _cached_class_distribution_figure(
        dataset.sha256, measure, height, counts, tuple(dataset.class_names)
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_curve_figure(
    run_dir: str,
    version: tuple[int, ...] | None,
    x: str,
    metric: str,
    smoothing: float,
    log_y: bool,
    _frame: pd.DataFrame,
) -> go.Figure:
    """`learning_curve_figure` of a run's records, built once for every session.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    version : tuple of int or None
        Its metrics file's `mnist_lab.runs.file_version`: only the cache key.
    x : {"epoch", "step", "iterations"}
    metric : {"loss", "accuracy"}
    smoothing : float
    log_y : bool
    _frame : pandas.DataFrame
        The records of that version at ``x``'s granularity (not part of the key).
    """
    return learning_curve_figure(
        _frame, metric, x, metric.capitalize(), smoothing=smoothing, log_y=log_y
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_confusion_figure(
    run_dir: str, mtime: float, normalized: bool, class_names: tuple[str, ...], _matrix
):
    """`confusion_figure` of a run's evaluation, built once for every session.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    mtime : float
        Its evaluation file's modification time: only the cache key.
    normalized : bool
        Shares of each true class instead of counts.
    class_names : tuple of str
        The dataset's class names.
    _matrix : numpy.ndarray
        The confusion matrix of that evaluation (not part of the key).
    """
    return confusion_figure(_matrix, normalized, class_names=list(class_names))


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_gallery_figure(run_dir: str, mtime: float, indices: tuple[int, ...]):
    """Test digits ``indices`` beside the run's probabilities, built once for every session.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    mtime : float
        Its predictions file's modification time: only the cache key.
    indices : tuple of int
        Test images to show, in order.

    Returns
    -------
    plotly.graph_objects.Figure
        :func:`dashboard.ui.evaluate.figures.evaluation.probability_gallery_figure` of them.
    """
    y_true, probabilities = cached_predictions(run_dir, mtime)
    chosen = list(indices)
    dataset = run_dataset(Run(run_dir))
    return probability_gallery_figure(
        dataset.x_test[chosen],
        probabilities[chosen],
        y_true[chosen],
        class_names=dataset.class_names,
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_schedule_figure(settings_key: str, _settings) -> go.Figure:
    return schedule_figure(_settings)


def shared_schedule_figure(settings) -> go.Figure:
    """`schedule_figure` of ``settings`` (a Keras run's), built once per distinct settings."""
    key = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str)
    return _cached_schedule_figure(key, settings)


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_saliency_figure(
    run_dir: str,
    saved_at: float,
    digit: np.ndarray,
    class_index: int,
    method: str,
    _attribution: np.ndarray,
) -> go.Figure:
    """`saliency_figure` of one explanation, built once for every session.

    Parameters
    ----------
    run_dir : str
        The explained run's directory.
    saved_at : float
        Its model file's modification time: with the digit, class and method, the key.
    digit : numpy.ndarray
        28x28 uint8, as the model saw it.
    class_index : int
        The class whose score is explained.
    method : str
        The saliency method.
    _attribution : numpy.ndarray
        That explanation's attribution (not part of the key).
    """
    return saliency_figure(digit, _attribution)

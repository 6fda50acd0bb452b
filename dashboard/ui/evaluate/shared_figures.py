"""Evaluate's figures shared by every session: the confusion matrix, the gallery, saliency maps.

Each is built once per version of what it shows and read by every session as one object that
must not be modified (why: `dashboard.ui.app.figures`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.dataset_cache import run_dataset
from dashboard.ui.app.figures.shared import shared
from dashboard.ui.app.run_cache import cached_predictions
from dashboard.ui.evaluate.figures.evaluation import confusion_figure, probability_gallery_figure
from dashboard.ui.evaluate.figures.explain import saliency_figure
from mnist_lab.runs import Run


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_confusion_figure(
    run_dir: str, mtime: float, part: str, normalized: bool, class_names: tuple[str, ...], _matrix
):
    """`confusion_figure` of a run's evaluation, built once for every session.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    mtime : float
        Its evaluation file's modification time: only the cache key.
    part : str
        The key of the visible part it counts (empty for the whole split): only the cache key.
    normalized : bool
        Shares of each true class instead of counts.
    class_names : tuple of str
        The dataset's class names.
    _matrix : numpy.ndarray
        The confusion matrix of that evaluation (not part of the key).
    """
    return shared(confusion_figure(_matrix, normalized, class_names=list(class_names)))


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
    return shared(
        probability_gallery_figure(
            dataset.x_test[chosen],
            probabilities[chosen],
            y_true[chosen],
            class_names=dataset.class_names,
        )
    )


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
    return shared(saliency_figure(digit, _attribution))

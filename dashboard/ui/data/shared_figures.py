"""The data pages' figures shared by every session: class distribution, pixel histograms.

Built once per dataset and read by every session as one object that must not be modified
(why: `dashboard.ui.app.figures`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.dataset_cache import cached_value_counts
from dashboard.ui.app.figures.shared import shared
from dashboard.ui.data.figures import class_distribution_figure, histogram_figure
from mnist_lab import stats
from mnist_lab.data import MnistDataset


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
    return shared(class_distribution_figure(_counts, measure, list(_class_names), height=height))


def dataset_distribution_figure(
    dataset: MnistDataset, counts: pd.DataFrame, measure: str, height: int = 320
) -> go.Figure:
    """`class_distribution_figure` of ``dataset`` with its ``counts``, built once for all."""
    return _cached_class_distribution_figure(
        dataset.sha256, measure, height, counts, tuple(dataset.class_names)
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_histogram_figure(
    sha256: str, split: str, digit: int | None, nonzero_only: bool, log_y: bool, _dataset
) -> go.Figure:
    value_counts = cached_value_counts(_dataset, sha256, split)
    selected = value_counts.sum(axis=0) if digit is None else value_counts[digit]
    histogram = stats.pixel_histogram(selected, nonzero_only=nonzero_only)
    return shared(histogram_figure(histogram, log_y=log_y))


def pixel_histogram_figure(
    dataset: MnistDataset, split: str, digit: int | None, nonzero_only: bool, log_y: bool
) -> go.Figure:
    """`histogram_figure` of ``split``'s pixel values (of one class, or all), built once for all.

    Parameters
    ----------
    dataset : MnistDataset
    split : {"train", "test"}
    digit : int or None
        One class's pixels, or every class's (None).
    nonzero_only : bool
        Leave out the background's zeros.
    log_y : bool
        Log-scale counts.
    """
    return _cached_histogram_figure(dataset.sha256, split, digit, nonzero_only, log_y, dataset)

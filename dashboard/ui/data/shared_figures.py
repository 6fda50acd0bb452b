"""The data pages' figures shared by every session: a dataset's class distribution.

Built once per dataset and read by every session as one object that must not be modified
(why: `dashboard.ui.app.figures`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.figures.shared import shared
from dashboard.ui.data.figures import class_distribution_figure
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

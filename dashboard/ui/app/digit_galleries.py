"""Galleries of a dataset's digits shared by every session, drawn once per choice of digits.

Pages show the same few dozen digits to every student of a class (the suspicious labels,
the digits only one model gets right, a random sample): each gallery is built once and read
by every session as one object that must not be modified (why: `dashboard.ui.app.figures`).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.dataset_cache import split_arrays
from dashboard.ui.app.figures.images import digit_grid_figure
from dashboard.ui.app.figures.shared import shared
from mnist_lab.data import MnistDataset


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_gallery(
    sha256: str,
    split: str,
    indices: tuple[int, ...],
    titles: tuple[str, ...],
    n_cols: int,
    _dataset: MnistDataset,
) -> go.Figure:
    images = split_arrays(_dataset, split)[0][list(indices)]
    return shared(digit_grid_figure(images, list(titles), n_cols=n_cols))


def digit_gallery(
    dataset: MnistDataset,
    split: str,
    indices: Sequence[int],
    titles: Sequence[str],
    n_cols: int = 10,
) -> go.Figure:
    """`digit_grid_figure` of some of ``dataset``'s digits, built once for every session.

    Parameters
    ----------
    dataset : MnistDataset
    split : {"train", "test"}
    indices : sequence of int
        The digits shown, in order.
    titles : sequence of str
        One title per digit.
    n_cols : int, default 10
    """
    return _cached_gallery(
        dataset.sha256,
        split,
        tuple(int(index) for index in indices),
        tuple(titles),
        n_cols,
        dataset,
    )

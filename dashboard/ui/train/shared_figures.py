"""Train's figures shared by every session: learning curves, a schedule's drawing.

Each is built once per version of what it shows and read by every session as one object that
must not be modified (why: `dashboard.ui.app.figures`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Hashable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.figures.shared import shared
from dashboard.ui.app.run_cache import curves_of
from dashboard.ui.train.figures.curves import learning_curve_figure, learning_curves_figure
from dashboard.ui.train.figures.schedules import schedule_figure
from mnist_lab.engines import Engine, get_engine
from mnist_lab.runs import Run
from mnist_lab.settings import Settings


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_curve_figure(
    run_dir: str,
    version: Hashable,
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
    version : hashable
        What ``_frame`` was made from (its records file's `mnist_lab.files.file_version`,
        or a digest of its records): only the cache key.
    x : {"epoch", "step", "iterations"}
    metric : {"loss", "accuracy"}
    smoothing : float
    log_y : bool
    _frame : pandas.DataFrame
        The records of that version at ``x``'s granularity (not part of the key).
    """
    return shared(
        learning_curve_figure(
            _frame, metric, x, metric.capitalize(), smoothing=smoothing, log_y=log_y
        )
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _cached_learning_curves_figure(key: tuple, _runs: dict[str, Run]) -> go.Figure:
    return shared(learning_curves_figure({label: run.metrics() for label, run in _runs.items()}))


def shared_learning_curves_figure(runs: dict[str, Run]) -> go.Figure:
    """`learning_curves_figure` of ``runs`` (label -> run), once per version of what it draws.

    It draws their summary records (epochs, or chunks): a live run's batches, a new one every
    second, leave it as it is.
    """
    key = tuple((label, str(run.path), curves_of(run).summary_key) for label, run in runs.items())
    return _cached_learning_curves_figure(key, runs)


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_schedule_figure(
    engine_name: str, settings_key: str, n_train: int, _settings: Settings
) -> go.Figure | None:
    schedule = get_engine(engine_name).learning_rate_schedule(_settings, n_train)
    return None if schedule is None else shared(schedule_figure(schedule))


def shared_schedule_figure(engine: Engine, settings: Settings, n_train: int) -> go.Figure | None:
    """`schedule_figure` of ``settings``' learning rate, built once per distinct settings.

    None when ``engine`` trains without a schedule (`Engine.learning_rate_schedule`).
    """
    key = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str)
    return _cached_schedule_figure(engine.name, key, n_train, settings)

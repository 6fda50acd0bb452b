"""The Inside page's views shared by every session: weights, layer outputs, records' figures.

The page draws four tabs on every rerun; rebuilding their figures and asking the model for
one digit's layers again costs a class's server more than the rest of the page. Each view is
built once per version of what it shows (the model file's modification time, the records'
`mnist_lab.files.file_version`) and read by every session as one object that must not be
modified (why: `dashboard.ui.app.figures`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.app.figures.images import digit_grid_figure, image_figure
from dashboard.ui.app.figures.shared import shared
from dashboard.ui.app.run_cache import model_of
from dashboard.ui.evaluate.figures.inside import (
    activation_figure,
    gradient_flow_figure,
    histogram_lines_figure,
    weights_grid,
)
from mnist_lab import inspection, records
from mnist_lab.engines import engine_of
from mnist_lab.files import file_version
from mnist_lab.runs import Run

# Conv filters are 3x3 to 9x9 pixels: enlarged so each tile is big enough to read.
FILTER_ZOOM = 6


def model_version(run: Run) -> float | None:
    """The modification time of ``run``'s model file, the key of its views; None without one."""
    model_file = engine_of(run).model_file(run)
    return None if model_file is None else model_file.stat().st_mtime


def records_version(run: Run) -> tuple[int, ...] | None:
    """The `file_version` of ``run``'s records, the key of the views drawn from them."""
    return file_version(run.file(records.METRICS_FILE))


@st.cache_resource(max_entries=16, show_spinner=False)
def checked_model(run_dir: str, saved_at: float) -> bool:
    """Ask the model for one blank digit, once per model file: a damaged file raises here.

    Raises
    ------
    DamagedRunError
        If a file the views need is damaged (not kept, so it is told on every rerun).
    """
    run = Run(run_dir)
    engine_of(run).predict_proba(run, np.zeros((1, 28, 28), np.uint8), model=model_of(run))
    return True


@dataclass(frozen=True)
class WeightViews:
    """The Weights tab's figures: each with how many images it shows of how many."""

    first: tuple[int, int, go.Figure] | None
    filters: tuple[int, go.Figure] | None
    templates: go.Figure | None


@st.cache_resource(max_entries=16, show_spinner=False)
def weight_views(
    run_dir: str, saved_at: float, template_titles: tuple[str, ...], max_units: int
) -> WeightViews:
    """The first layer's weights, conv filters and digit templates of a run's model, drawn once.

    Parameters
    ----------
    run_dir : str
    saved_at : float
        Its model file's modification time (`model_version`): only the cache key.
    template_titles : tuple of str
        One title per class, for the digit templates.
    max_units : int
        How many first-layer units are drawn at most.
    """
    run = Run(run_dir)
    engine, model = engine_of(run), model_of(run)
    first = engine.first_layer_weights(run, model)
    filters = engine.conv_filters(run, model)
    templates = engine.digit_templates(run, model)
    first_view = None
    if first is not None:
        shown = first[:max_units]
        first_view = (
            len(shown),
            len(first),
            shared(weights_grid(shown, [f"{i}" for i in range(len(shown))])),
        )
    filters_view = None
    if filters is not None:
        zoomed = filters.repeat(FILTER_ZOOM, axis=1).repeat(FILTER_ZOOM, axis=2)
        filters_view = (
            len(filters),
            shared(weights_grid(zoomed, [f"{i}" for i in range(len(filters))])),
        )
    templates_view = None
    if templates is not None:
        templates_view = shared(weights_grid(templates, list(template_titles)[: len(templates)]))
    return WeightViews(first_view, filters_view, templates_view)


@st.cache_resource(max_entries=64, show_spinner=False)
def input_figure(image: bytes) -> go.Figure:
    """The digit given to the layers (its 784 uint8 bytes), drawn once for every session."""
    digit = np.frombuffer(image, dtype=np.uint8).reshape(28, 28)
    return shared(image_figure(digit, show_colorbar=False, height=140))


@dataclass(frozen=True)
class LayerView:
    """One layer's output for one digit, drawn: its name, kind, size, top class and figure."""

    name: str
    kind: str
    size: int
    top: int
    figure: go.Figure


@st.cache_resource(max_entries=64, show_spinner=False)
def layer_views(run_dir: str, saved_at: float, image: bytes) -> list[LayerView]:
    """What every layer of a run's model outputs for one digit, drawn once per model and digit.

    Parameters
    ----------
    run_dir : str
    saved_at : float
        Its model file's modification time (`model_version`): only the cache key.
    image : bytes
        The 28x28 uint8 digit's bytes (784 of them: the key hashes them cheaply).
    """
    run = Run(run_dir)
    digit = np.frombuffer(image, dtype=np.uint8).reshape(28, 28)
    views = []
    for output in engine_of(run).layer_outputs(run, digit, model_of(run)):
        if output.kind == "conv":
            titles = [f"{i}" for i in range(len(output.values))]
            figure = digit_grid_figure(
                output.values, titles, colorscale="viridis", zmin=None, zmax=None
            )
        elif output.kind in ("dense", "softmax"):
            figure = activation_figure(output.values, output.kind == "softmax")
        else:
            continue
        views.append(
            LayerView(
                output.name,
                output.kind,
                len(output.values),
                int(output.values.argmax()),
                shared(figure),
            )
        )
    return views


@dataclass(frozen=True)
class GradientFlow:
    """A run's gradient flow drawn, with its reading in words and whether it looks healthy."""

    figure: go.Figure
    reading: str
    healthy: bool


@st.cache_resource(max_entries=256, show_spinner=False)
def gradient_records_key(run_dir: str, version: tuple[int, ...] | None) -> str | None:
    """A digest of a run's per-layer gradient records, once per version of its records.

    The gradient flow is drawn from these records alone, which a live run adds now and then
    while its batch records arrive every second. None when the run logged none.
    """
    gradients = records.of_kind(Run(run_dir).metrics(), "gradients")
    if not gradients:
        return None
    text = json.dumps(gradients, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def has_gradient_records(run_dir: str, version: tuple[int, ...] | None) -> bool:
    """Whether a run logged per-layer gradients, looked up once per version of its records."""
    return gradient_records_key(run_dir, version) is not None


def gradient_flow(run_dir: str, version: tuple[int, ...] | None) -> GradientFlow | None:
    """A run's gradient flow, drawn once per version of its gradient records; None without any."""
    key = gradient_records_key(run_dir, version)
    return None if key is None else _drawn_gradient_flow(run_dir, key)


@st.cache_resource(max_entries=64, show_spinner=False)
def _drawn_gradient_flow(run_dir: str, gradients_key: str) -> GradientFlow | None:
    table = inspection.gradient_flow_table(Run(run_dir).metrics())
    if table.empty:
        return None
    ratios = inspection.gradient_ratios(table)
    healthy = bool(
        ratios.max() < inspection.SHRINKING_RATIO and ratios.min() > 1 / inspection.VANISHING_RATIO
    )
    return GradientFlow(
        shared(gradient_flow_figure(table)), inspection.gradient_flow_reading(table), healthy
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def histogram_layers(run_dir: str, version: tuple[int, ...] | None) -> list[str]:
    """`inspection.histogram_layers` of a run's records, once per version of them."""
    return inspection.histogram_layers(Run(run_dir).metrics())


@st.cache_resource(max_entries=64, show_spinner=False)
def histogram_figure(
    run_dir: str, version: tuple[int, ...] | None, layer: str, quantity: str
) -> go.Figure:
    """One layer's weight or activation histograms over training, drawn once per version."""
    series = inspection.histogram_series(Run(run_dir).metrics(), layer, quantity)
    return shared(histogram_lines_figure(series, quantity))

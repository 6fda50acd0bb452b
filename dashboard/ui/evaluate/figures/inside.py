"""Figures of the Inside page: weights as images, gradient flow, activations, histograms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.ui.app.figures.images import digit_grid_figure
from dashboard.ui.app.figures.style import COLORBAR_PLACE, SIGNED_COLORSCALE, log_axis

# Epoch 0 (before training) dark, the last epoch bright.
EPOCH_COLORSCALE = "Viridis"
MAX_EPOCH_TICKS = 7


def weights_grid(images: np.ndarray, titles: list[str]) -> go.Figure:
    """Weight images on the signed scale centred on 0: red raises what they feed, blue lowers it.

    Parameters
    ----------
    images : numpy.ndarray
        Stack of shape ``(n, height, width)``: one unit's input weights, a filter or a digit
        template per image.
    titles : list of str
        One short title per image.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    limit = float(np.abs(images).max()) or 1.0
    return digit_grid_figure(
        images, titles, colorscale=SIGNED_COLORSCALE, zmin=-limit, zmax=limit, tile_height=100
    )


def gradient_flow_figure(table: pd.DataFrame) -> go.Figure:
    """Per-layer gradient size over training, one line per layer on a log scale.

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`mnist_lab.inspection.gradient_flow_table` (``step``, ``layer``,
        ``grad_rms``...).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = px.line(table, x="step", y="grad_rms", color="layer", height=360)
    figure.update_yaxes(**log_axis(table["grad_rms"]))
    figure.update_layout(yaxis_title="gradient per weight, RMS (log scale)", margin={"t": 10})
    return figure


def activation_figure(values: np.ndarray, is_softmax: bool) -> go.Figure:
    """Bars of one dense layer's output for one input: a unit's activation or a probability.

    Parameters
    ----------
    values : numpy.ndarray
        One value per unit, shape ``(n_units,)``.
    is_softmax : bool
        The output layer, whose units are the ten digits.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = px.bar(
        x=np.arange(len(values)),
        y=values,
        height=180,
        labels={"x": "digit" if is_softmax else "unit", "y": "output"},
    )
    figure.update_layout(margin={"t": 10, "b": 10}, xaxis_type="category")
    return figure


def epoch_ticks(epochs: list[int]) -> dict:
    """Colour-bar ticks at whole epochs only, at most about eight of them.

    Examples
    --------
    >>> epoch_ticks([0, 1, 2])
    {'tickmode': 'array', 'tickvals': [0, 1, 2]}
    >>> epoch_ticks(list(range(26)))["tickvals"]
    [0, 4, 8, 12, 16, 20, 24]
    """
    first, last = int(min(epochs)), int(max(epochs))
    step = max(1, math.ceil((last - first) / MAX_EPOCH_TICKS))
    return {"tickmode": "array", "tickvals": list(range(first, last + 1, step))}


def histogram_lines_figure(series: pd.DataFrame, quantity: str) -> go.Figure:
    """One layer's weight or activation histograms as step lines, coloured by epoch.

    The colour runs along one sequential scale (early epochs dark, late ones bright) with a
    colour bar, so 25 epochs never reuse a colour and need no 25-row legend.

    Parameters
    ----------
    series : pandas.DataFrame
        The table of :func:`mnist_lab.inspection.histogram_series` (``epoch``, ``center``,
        ``density``...).
    quantity : {"weights", "activations"}
        What the histograms count, for the axis title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    epochs = sorted(series["epoch"].unique())
    first, last = epochs[0], epochs[-1]
    figure = go.Figure()
    for epoch in epochs:
        rows = series[series["epoch"] == epoch]
        position = (epoch - first) / (last - first) if last > first else 1.0
        figure.add_scatter(
            x=rows["center"],
            y=rows["density"],
            mode="lines",
            line={"shape": "hvh", "color": sample_colorscale(EPOCH_COLORSCALE, position)[0]},
            name=f"epoch {epoch}",
            showlegend=False,
            hovertemplate=f"epoch {epoch}<br>%{{x:.3g}}: %{{y:.3g}}<extra></extra>",
        )
    # An invisible marker carries the colour bar that names the epochs.
    figure.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        showlegend=False,
        hoverinfo="skip",
        marker={
            "colorscale": EPOCH_COLORSCALE,
            "cmin": first,
            "cmax": last if last > first else first + 1,
            "color": [first],
            "showscale": True,
            "colorbar": {
                "title": {"text": "epoch"},
                "thickness": 14,
                **epoch_ticks(epochs),
                **COLORBAR_PLACE,
            },
        },
    )
    figure.update_layout(
        height=360,
        xaxis_title=quantity[:-1] + " value",
        yaxis_title="density (share per unit of value)",
        margin={"t": 10},
    )
    return figure

"""Figures of the explanations: saliency maps, adversarial digits, reliability, robustness."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.ui.app.figures.style import (
    COLORBAR_PLACE,
    INK_COLORSCALE,
    RUN_COLORS,
    SIGNED_COLORSCALE,
    log_axis,
    plain,
)

if TYPE_CHECKING:
    from mnist_lab.explain.adversarial import Attack
    from mnist_lab.explain.calibration import Calibration

# The digit's outline drawn over a saliency map: where its ink reaches half strength.
OUTLINE_LEVEL = 128


def _symmetric_range(values: np.ndarray) -> float:
    """The largest absolute value, so zero sits in the middle of a diverging scale."""
    largest = float(np.abs(values).max())
    return largest if largest > 0 else 1.0


def _image_axes(figure: go.Figure) -> None:
    """Square pixels, row 0 on top, no ticks, on every subplot."""
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")


def saliency_figure(image: np.ndarray, attribution: np.ndarray, height: int = 320) -> go.Figure:
    """A saliency map over the digit it explains, with the digit's outline on top.

    Parameters
    ----------
    image : numpy.ndarray
        The 28x28 digit, 0-255.
    attribution : numpy.ndarray
        The 28x28 map; positive (red) raised the class's score, negative (blue) lowered it.
    height : int, default 320

    Returns
    -------
    plotly.graph_objects.Figure
    """
    limit = _symmetric_range(attribution)
    figure = go.Figure(
        go.Heatmap(
            z=np.asarray(attribution, dtype=np.float32),
            colorscale=SIGNED_COLORSCALE,
            zmin=-limit,
            zmax=limit,
            # The ends say what the colours mean; the numbers are on hover.
            colorbar={
                "thickness": 12,
                "tickmode": "array",
                "tickvals": [-limit, 0, limit],
                "ticktext": ["lowers", "0", "raises"],
                **COLORBAR_PLACE,
            },
            hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>",
        )
    )
    figure.add_contour(
        z=np.asarray(image, dtype=np.float32),
        contours={"start": OUTLINE_LEVEL, "end": OUTLINE_LEVEL, "coloring": "none"},
        line={"color": "black", "width": 1.5},
        showscale=False,
        hoverinfo="skip",
    )
    _image_axes(figure)
    figure.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    return figure


def adversarial_figure(attack: Attack, height: int = 280) -> go.Figure:
    """Original, change and result of an adversarial attack side by side, each titled.

    Parameters
    ----------
    attack : Attack
    height : int, default 280

    Returns
    -------
    plotly.graph_objects.Figure
    """
    before, after = attack.prediction_before, attack.prediction_after
    titles = (
        f"original: read as {before} ({attack.probabilities_before[before]:.0%})",
        f"change: at most ±{attack.max_change:.0f} of 255",
        f"result: read as {after} ({attack.probabilities_after[after]:.0%})",
    )
    figure = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.04)
    limit = _symmetric_range(attack.change)
    panels = (
        (attack.original, INK_COLORSCALE, 0.0, 255.0),
        (attack.change, SIGNED_COLORSCALE, -limit, limit),
        (attack.adversarial, INK_COLORSCALE, 0.0, 255.0),
    )
    for column, (values, colorscale, low, high) in enumerate(panels, start=1):
        figure.add_heatmap(
            z=np.asarray(values, dtype=np.float32),
            colorscale=colorscale,
            zmin=low,
            zmax=high,
            showscale=False,
            hovertemplate="row %{y}, column %{x}: %{z:.0f}<extra></extra>",
            row=1,
            col=column,
        )
    _image_axes(figure)
    figure.update_annotations(font_size=13)
    figure.update_layout(height=height, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return figure


def reliability_figure(calibrations: dict[str, Calibration], height: int = 520) -> go.Figure:
    """Reliability diagrams of several runs over their confidence histograms.

    Parameters
    ----------
    calibrations : dict
        Run name (shown HTML-escaped) -> its `Calibration`, in legend order.
    height : int, default 520

    Returns
    -------
    plotly.graph_objects.Figure
        Top: accuracy against confidence per bin, with the diagonal of perfect
        calibration. Bottom: how many test digits fall in each confidence bin (log scale).
    """
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.65, 0.35],
        vertical_spacing=0.06,
    )
    figure.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"color": "#868E96", "dash": "dot"},
        name="perfectly calibrated",
        hoverinfo="skip",
        row=1,
        col=1,
    )
    for number, (name, result) in enumerate(calibrations.items()):
        color = RUN_COLORS[number % len(RUN_COLORS)]
        label = plain(name)
        occupied = result.counts > 0
        centres = (result.bin_edges[:-1] + result.bin_edges[1:]) / 2
        figure.add_scatter(
            x=result.confidence[occupied],
            y=result.accuracy[occupied],
            mode="lines+markers",
            name=f"{label} (ECE {result.ece:.1%})",
            line={"color": color},
            customdata=result.counts[occupied],
            hovertemplate="confidence %{x:.1%}: right %{y:.1%} of %{customdata} digits"
            "<extra></extra>",
            row=1,
            col=1,
        )
        figure.add_bar(
            x=centres,
            y=result.counts,
            marker_color=color,
            showlegend=False,
            name=label,
            hovertemplate="confidence around %{x:.0%}: %{y:,} digits<extra></extra>",
            row=2,
            col=1,
        )
    figure.update_xaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    figure.update_xaxes(range=[0, 1], tickformat=".0%", title="confidence", row=2, col=1)
    figure.update_yaxes(range=[0, 1.02], tickformat=".0%", title="accuracy", row=1, col=1)
    counts = [count for result in calibrations.values() for count in result.counts]
    figure.update_yaxes(**log_axis(counts), title="digits", row=2, col=1)
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": 1.08, "x": 0},
        barmode="group",
        bargap=0.15,
    )
    return figure


def robustness_figure(
    curves: dict[str, pd.DataFrame], corruptions: dict, height: int = 560
) -> go.Figure:
    """Test accuracy against each corruption's strength, one line per run, one panel each.

    Parameters
    ----------
    curves : dict
        Run name (shown HTML-escaped) -> its curves (``corruption``, ``strength``,
        ``accuracy``), in legend order.
    corruptions : dict
        `mnist_lab.explain.robustness.CORRUPTIONS`: panel titles, units and order.
    height : int, default 560

    Returns
    -------
    plotly.graph_objects.Figure
    """
    names = list(corruptions)
    columns = 3
    rows = -(-len(names) // columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[corruptions[name].title for name in names],
        vertical_spacing=0.16,
        horizontal_spacing=0.06,
    )
    for number, (run_name, table) in enumerate(curves.items()):
        color = RUN_COLORS[number % len(RUN_COLORS)]
        for position, name in enumerate(names):
            row, column = divmod(position, columns)
            series = table[table["corruption"] == name].sort_values("strength")
            figure.add_scatter(
                x=series["strength"],
                y=series["accuracy"],
                mode="lines+markers",
                name=plain(run_name),
                legendgroup=str(number),
                showlegend=position == 0,
                line={"color": color},
                hovertemplate=f"{corruptions[name].unit} %{{x:g}}: %{{y:.1%}}<extra></extra>",
                row=row + 1,
                col=column + 1,
            )
    for position, name in enumerate(names):
        row, column = divmod(position, columns)
        figure.update_xaxes(
            title={"text": corruptions[name].unit, "font": {"size": 11}},
            row=row + 1,
            col=column + 1,
        )
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%", row=row + 1, col=column + 1)
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": 1.1, "x": 0},
    )
    return figure

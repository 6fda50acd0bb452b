"""Figures of the dataset itself: images per class, pixel values, 2-D maps of the images."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.ui.app.figures.style import (
    DIGIT_COLORS,
    SPLIT_COLORS,
    class_word,
    log_axis,
    plain,
)

MEASURES = ("count", "share")


def class_distribution_figure(
    counts: pd.DataFrame,
    measure: str = "count",
    class_names: Sequence[str] | None = None,
    height: int = 320,
) -> go.Figure:
    """Grouped bars of images per class, one colour per split.

    Parameters
    ----------
    counts : pandas.DataFrame
        The table of :func:`mnist_lab.stats.class_counts` (``split``, ``digit``, ``count``,
        ``share``).
    measure : {"count", "share"}, default "count"
        Absolute counts, or shares of each split (which compares splits of different sizes).
    class_names : sequence of str, optional
        Axis labels per digit; the digits themselves by default.
    height : int, default 320
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ValueError
        If ``measure`` is not "count" or "share".
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    figure = go.Figure()
    for split, rows in counts.groupby("split", sort=False):
        figure.add_bar(
            x=[plain(class_names[d]) if class_names else str(d) for d in rows["digit"]],
            y=rows[measure],
            name=split,
            marker_color=SPLIT_COLORS.get(split),
            hovertemplate="%{x}: %{y:" + (".1%" if measure == "share" else ",") + "}",
        )
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": class_word(class_names), "type": "category"},
        yaxis={"title": measure, "tickformat": ".0%" if measure == "share" else ","},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    )
    return figure


def histogram_figure(histogram: pd.DataFrame, log_y: bool = False, height: int = 340) -> go.Figure:
    """Bars of how many pixels take each value.

    Parameters
    ----------
    histogram : pandas.DataFrame
        The table of :func:`mnist_lab.stats.pixel_histogram` (``value``, ``count``, ``share``).
    log_y : bool, default False
        Log-scale counts, so rare values stay visible next to the huge background peak.
    height : int, default 340
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure(
        go.Bar(
            x=histogram["value"],
            y=histogram["count"],
            customdata=histogram["share"],
            marker_color=SPLIT_COLORS["train"],
            hovertemplate="value %{x}: %{y:,} pixels (%{customdata:.2%})<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        bargap=0,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "pixel value (0 = background, 255 = full ink)", "range": [-1, 256]},
        yaxis={
            "title": "pixels",
            **(log_axis(histogram["count"]) if log_y else {"type": "linear"}),
        },
    )
    return figure


def projection_figure(
    points: pd.DataFrame, class_names: Sequence[str] | None = None, height: int = 520
) -> go.Figure:
    """Scatter of 2-D projected images, one colour per digit, selectable by box or lasso.

    Parameters
    ----------
    points : pandas.DataFrame
        The table of :func:`mnist_lab.stats.project_2d` (``index``, ``digit``, ``x``, ``y``).
        Each point carries its ``index`` as ``customdata``, so a selection names the images.
    class_names : sequence of str, optional
        Legend label per digit; the digits themselves by default.
    height : int, default 520
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure()
    for digit, rows in points.groupby("digit", sort=True):
        name = plain(class_names[digit]) if class_names is not None else str(digit)
        figure.add_scattergl(
            x=rows["x"],
            y=rows["y"],
            customdata=rows["index"],
            mode="markers",
            name=name,
            marker={"size": 5, "color": DIGIT_COLORS[digit % len(DIGIT_COLORS)], "opacity": 0.8},
            hovertemplate=f"digit {name}<br>image #%{{customdata}}<extra></extra>",
        )
    figure.update_layout(
        height=height,
        dragmode="lasso",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "component 1", "zeroline": False},
        yaxis={"title": "component 2", "zeroline": False},
        legend={"title": class_word(class_names), "itemsizing": "constant"},
    )
    return figure

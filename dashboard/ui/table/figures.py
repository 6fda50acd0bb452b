"""The MNIST table's chart: the lab's test error against training time, the papers' as marks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from dashboard.ui.app.figures.style import RUN_COLORS, plain
from mnist_lab.mnist_table import format_seconds

if TYPE_CHECKING:
    from mnist_lab.mnist_table import TableEntry

LAB_COLOR, PUBLISHED_COLOR = RUN_COLORS[0], RUN_COLORS[1]


def error_time_figure(entries: list[TableEntry], height: int = 420) -> go.Figure:
    """Each reproduced row's test error against its training time (log scale).

    The published error of the row is drawn at the same training time as an open mark,
    joined to the lab's by a dotted line, so the gap reads vertically.

    Parameters
    ----------
    entries : list of TableEntry
        As `mnist_lab.mnist_table.table` gives them; rows without a timed run are left out.
    height : int, default 420

    Returns
    -------
    plotly.graph_objects.Figure
    """
    shown = [e for e in entries if e.best is not None and e.best.training_s is not None]
    # A run timed at 0 s (stored in under a second) still needs a place on a log axis.
    times = [max(e.best.training_s, 0.1) for e in shown]
    figure = go.Figure()
    for entry, seconds in zip(shown, times, strict=True):
        figure.add_scatter(
            x=[seconds, seconds],
            y=[entry.best.test_error, entry.row.published_error],
            mode="lines",
            line={"color": "#adb5bd", "dash": "dot"},
            hoverinfo="skip",
            showlegend=False,
        )
    figure.add_scatter(
        x=times,
        y=[e.best.test_error for e in shown],
        mode="markers+text",
        text=[plain(e.row.method) for e in shown],
        textposition="middle right",
        marker={"color": LAB_COLOR, "size": 11},
        name="the lab's run",
        customdata=[[plain(e.row.title), format_seconds(e.best.training_s)] for e in shown],
        hovertemplate="%{customdata[0]}<br>%{y:.2%} in %{customdata[1]}<extra>lab</extra>",
    )
    figure.add_scatter(
        x=times,
        y=[e.row.published_error for e in shown],
        mode="markers",
        marker={"color": PUBLISHED_COLOR, "size": 11, "symbol": "diamond-open", "line_width": 2},
        name="published",
        customdata=[plain(e.row.cited) for e in shown],
        hovertemplate="%{y:.2%} (%{customdata})<extra>published</extra>",
    )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "training time (s, log scale)", "type": "log"},
        yaxis={"title": "test error", "tickformat": ".1%", "rangemode": "tozero"},
        legend={"orientation": "h", "y": 1.1, "x": 0},
    )
    return figure

"""Learning curves: loss and accuracy of one run as it trains, or of several runs overlaid."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.ui.figures.style import RUN_COLORS, SERIES_STYLE, plain
from mnist_lab import records


def learning_curve_figure(frame: pd.DataFrame, metric: str, x: str, title: str) -> go.Figure:
    """Training (and validation, where logged) ``metric`` against ``x`` as lines.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of metric records with columns ``x``, ``metric`` and maybe ``val_<metric>``.
    metric : {"loss", "accuracy"}
    x : {"epoch", "step", "iterations"}
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure()
    for series, column in (("train", metric), ("validation", f"val_{metric}")):
        if column in frame and frame[column].notna().any():
            style = SERIES_STYLE[series]
            figure.add_scatter(
                x=frame[x],
                y=frame[column],
                name=series,
                mode="lines" if x == "step" else "lines+markers",
                line={"color": style["color"], "dash": style["dash"]},
            )
    figure.update_layout(
        title=title,
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title=x,
        yaxis_title=metric,
        legend={"orientation": "h", "y": -0.25},
    )
    if metric == "accuracy":
        figure.update_yaxes(tickformat=".0%")
    return figure


def learning_curves_figure(curves: dict[str, list[dict]], height: int = 380) -> go.Figure:
    """Per-epoch loss and accuracy of several runs: train solid, validation dashed.

    Parameters
    ----------
    curves : dict
        Run name -> its ``metrics.jsonl`` records; each run's summary records are drawn
        (`mnist_lab.records.summary`: per epoch, or per chunk of L-BFGS iterations).
    height : int, default 380

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    axis_titles = set()
    for number, (name, metrics) in enumerate(curves.items()):
        summary = records.summary(metrics)
        axis_titles.add(summary.x_title)
        color = RUN_COLORS[number % len(RUN_COLORS)]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for prefix, dash in (("", "solid"), ("val_", "dash")):
                points = [
                    (r[summary.x], r[prefix + metric])
                    for r in summary.records
                    if r.get(prefix + metric) is not None
                ]
                if not points:
                    continue
                x, y = zip(*points, strict=True)
                figure.add_scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=f"{plain(name)} ({'validation' if prefix else 'train'})",
                    legendgroup=plain(name),
                    showlegend=col == 1,
                    line={"color": color, "dash": dash},
                    row=1,
                    col=col,
                )
    # Epochs are whole numbers: no tick at 1.5 when only two or three are drawn.
    figure.update_xaxes(title=" / ".join(sorted(axis_titles)) or "epoch", dtick=1)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure

"""Learning curves: loss and accuracy of one run as it trains, or of several runs overlaid."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.ui.app.figures.style import (
    RUN_COLORS,
    SERIES_STYLE,
    log_axis,
    percent_axis,
    plain,
    short,
)
from mnist_lab import records

# TensorBoard's default: smooth enough to see the trend, close enough to follow it.
DEFAULT_SMOOTHING = 0.6
PARTIAL_SYMBOL, FULL_SYMBOL = "circle-open", "circle"
WINDOW_TRACE_OPACITY = 0.3


def smooth(values: Iterable[float], weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start.

    Parameters
    ----------
    values : iterable of float
        The raw series; NaN and infinite values pass through unsmoothed.
    weight : float
        In [0, 1): 0 leaves the series as it is, closer to 1 smooths more.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> smooth([1.0, 0.0, 0.0], 0.5).round(3).tolist()
    [1.0, 0.333, 0.143]
    """
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return np.asarray(smoothed, dtype=float)


def epoch_axis(positions: Iterable[float]) -> dict:
    """Ticks at whole epochs from 1, half an epoch of room on each side.

    A tick marks the end of an epoch: an epoch cut short sits before its tick, at the
    fraction it reached (epoch 1 stopped at 40% at 0.4), never on a tick "0". No tick at 0.5
    or 1.5 for a short run, and a lone first epoch sits in the middle.

    Examples
    --------
    >>> epoch_axis([1.0])
    {'tickmode': 'array', 'tickvals': [1], 'range': [0.5, 1.5]}
    >>> epoch_axis([0.4])
    {'tickmode': 'array', 'tickvals': [1], 'range': [-0.1, 1.5]}
    """
    positions = list(positions) or [1.0]
    low, high = min(positions), max(positions)
    step = max(1, math.ceil((high - low) / 10))
    return {
        "tickmode": "array",
        "tickvals": list(range(1, max(math.floor(high), 1) + 1, step)),
        "range": [round(min(low, 1.0) - 0.5, 6), max(high, 1.0) + 0.5],
    }


def epoch_names(frame: pd.DataFrame) -> list[str]:
    """Each epoch record's name for hovers: "epoch 2", or "epoch 1, 40% done" if cut short.

    Examples
    --------
    >>> epoch_names(pd.DataFrame({"epoch": [1, 2], "fraction": [1.0, 0.4]}))
    ['epoch 1', 'epoch 2, 40% done']
    """
    return [
        f"epoch {row['epoch']}"
        + (f", {row.get('fraction', 1.0):.0%} done" if records.is_partial(row) else "")
        for row in _rows(frame)
    ]


def _epoch_positions(frame: pd.DataFrame) -> pd.Series:
    """Each epoch record's place on the epoch axis: a cut-short epoch sits at its fraction."""
    return pd.Series([records.epoch_position(row) for row in _rows(frame)], index=frame.index)


def _rows(frame: pd.DataFrame) -> list[dict]:
    """The frame's rows as records, missing values dropped."""
    return [
        {key: value for key, value in row.items() if not pd.isna(value)}
        for row in frame.to_dict("records")
    ]


def _partial_markers(frame: pd.DataFrame) -> dict:
    """Open markers for epochs cut short, full ones for the others."""
    symbols = [PARTIAL_SYMBOL if records.is_partial(row) else FULL_SYMBOL for row in _rows(frame)]
    return {"symbol": symbols, "size": 8}


def window_label(frame: pd.DataFrame) -> str:
    """What one point of the per-batch curve averages, in words.

    Examples
    --------
    >>> window_label(pd.DataFrame({"window_steps": [64, 64, 12]}))
    'mean of each 64 steps'
    >>> window_label(pd.DataFrame({"window_steps": [1, 1]}))
    'each step'
    >>> window_label(pd.DataFrame({"step": [64]}))
    'running mean since the epoch began'
    """
    if "window_steps" not in frame or frame["window_steps"].isna().all():
        return "running mean since the epoch began"
    steps = int(frame["window_steps"].median())
    return "each step" if steps == 1 else f"mean of each {steps:,} steps"


def learning_curve_figure(
    frame: pd.DataFrame,
    metric: str,
    x: str,
    title: str,
    smoothing: float = 0.0,
    log_y: bool = False,
) -> go.Figure:
    """Training (and validation, where logged) ``metric`` against ``x`` as lines.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of metric records with columns ``x``, ``metric`` and maybe ``val_<metric>``.
    metric : {"loss", "accuracy"}
    x : {"epoch", "step", "iterations"}
        Epoch records are placed by `mnist_lab.records.epoch_position`: an epoch cut short
        sits at its fraction, with an open marker.
    title : str
    smoothing : float, default 0
        TensorBoard-style smoothing of the per-step curve (`smooth`); the raw curve stays
        visible, faint, behind it.
    log_y : bool, default False
        A log-scale y axis.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure()
    positions = _epoch_positions(frame) if x == "epoch" else frame[x]
    shown_values = []
    value_format = ".2%" if metric == "accuracy" else ".4g"
    for series, column in (("train", metric), ("validation", f"val_{metric}")):
        if column not in frame or not frame[column].notna().any():
            continue
        style = SERIES_STYLE[series]
        line = {"color": style["color"], "dash": style["dash"]}
        values = frame[column]
        shown_values += values.tolist()
        if x == "step" and smoothing > 0:
            figure.add_scatter(
                x=positions,
                y=values,
                mode="lines",
                line=line,
                opacity=WINDOW_TRACE_OPACITY,
                showlegend=False,
                hoverinfo="skip",
            )
            values = smooth(values, smoothing)
        figure.add_scatter(
            x=positions,
            y=values,
            name=series,
            # A single point is a dot: a line needs two.
            mode="lines" if x == "step" and len(frame) > 1 else "lines+markers",
            line=line,
            marker=_partial_markers(frame) if x == "epoch" else None,
            customdata=epoch_names(frame) if x == "epoch" else None,
            hovertemplate=f"%{{customdata}}: %{{y:{value_format}}}" if x == "epoch" else None,
        )
    figure.update_layout(
        title=title,
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title={"step": "optimizer step", "iterations": "L-BFGS iterations"}.get(x, x),
        yaxis_title=metric + (" (log scale)" if log_y else ""),
        legend={"orientation": "h", "y": -0.25},
    )
    if x == "epoch":
        figure.update_xaxes(**epoch_axis(positions))
    if log_y:
        figure.update_yaxes(**log_axis(shown_values))
    if metric == "accuracy":
        figure.update_yaxes(**percent_axis(shown_values))
    if len(frame) == 1 and not log_y and shown_values:
        # Around one point plotly spreads the axis far and wide (accuracy up to 150%).
        low, high = min(shown_values), max(shown_values)
        pad = max(0.05 * abs(high), 0.01)
        top = min(high + pad, 1.0) if metric == "accuracy" else high + pad
        figure.update_yaxes(range=[max(low - pad, 0.0), top])
    return figure


def learning_curves_figure(curves: dict[str, list[dict]], height: int = 380) -> go.Figure:
    """Per-epoch loss and accuracy of several runs: train solid, validation dashed.

    Runs without epochs (the baseline, per chunk of L-BFGS iterations) are drawn against an
    axis of their own along the top, so neither squeezes the other.

    Parameters
    ----------
    curves : dict
        Run label (shown shortened in the legend, in full on hover) -> its ``metrics.jsonl``
        records; each run's summary records are drawn (`mnist_lab.records.summary`).
    height : int, default 380

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12)
    summaries = {name: records.summary(metrics) for name, metrics in curves.items()}
    kinds = {summary.x for summary in summaries.values() if summary.records}
    # With both kinds, iterations go to overlaid top axes (x3 over x, x4 over x2).
    top = {1: "x3", 2: "x4"} if len(kinds) > 1 else {}
    accuracies, positions = [], []
    for number, (name, summary) in enumerate(summaries.items()):
        color = RUN_COLORS[number % len(RUN_COLORS)]
        frame = pd.DataFrame(summary.records)
        if frame.empty:
            continue
        xs = _epoch_positions(frame) if summary.x == "epoch" else frame[summary.x]
        if summary.x == "epoch":
            positions += xs.tolist()
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for prefix, dash in (("", "solid"), ("val_", "dash")):
                column = prefix + metric
                if column not in frame or not frame[column].notna().any():
                    continue
                if metric == "accuracy":
                    accuracies += frame[column].tolist()
                split = "validation" if prefix else "train"
                trace = go.Scatter(
                    x=xs,
                    y=frame[column],
                    mode="lines+markers",
                    name=f"{plain(short(name))} ({split})",
                    legendgroup=plain(name),
                    showlegend=col == 1,
                    line={"color": color, "dash": dash},
                    marker=_partial_markers(frame) if summary.x == "epoch" else None,
                    customdata=epoch_names(frame) if summary.x == "epoch" else xs,
                    hovertemplate=f"{plain(name)} ({split})<br>%{{customdata}}: "
                    f"%{{y:{'.2%' if metric == 'accuracy' else '.4g'}}}<extra></extra>",
                )
                if summary.x != "epoch" and top:
                    figure.add_trace(
                        trace.update(xaxis=top[col], yaxis=f"y{col if col > 1 else ''}")
                    )
                else:
                    figure.add_trace(trace, row=1, col=col)
    bottom = "L-BFGS iterations" if kinds == {"iterations"} else "epoch"
    figure.update_xaxes(title=bottom)
    if "epoch" in kinds:
        figure.update_xaxes(**epoch_axis(positions), row=1, col=1)
        figure.update_xaxes(**epoch_axis(positions), row=1, col=2)
    for col, axis in top.items():
        figure.update_layout(
            {
                f"xaxis{axis[1:]}": {
                    "overlaying": f"x{col if col > 1 else ''}",
                    "side": "top",
                    "title": {"text": "L-BFGS iterations (baseline)"},
                    "showgrid": False,
                    # Ticks of its own: synced to the epoch grid they would read 26.6, 45.4...
                    "tickmode": "auto",
                }
            }
        )
    figure.update_yaxes(title="loss", row=1, col=1)
    figure.update_yaxes(title="accuracy", **percent_axis(accuracies), row=1, col=2)
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if top else 30, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
    )
    return figure

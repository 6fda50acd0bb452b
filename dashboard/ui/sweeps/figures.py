"""A sweep's figures: parallel coordinates, accuracy against each parameter, importance."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.ui.app.figures.style import (
    COLORBAR_PLACE,
    RUN_COLORS,
    log_axis,
    percent_axis,
    percent_tickformat,
    plain,
    readable_number,
)
from mnist_lab.records import of_kind
from mnist_lab.sweeps.space import Parameter

ACCURACY_COLORSCALE = "Viridis"


def _numeric(parameter: Parameter, rows: list[dict]) -> bool:
    """Whether a parameter's values are numbers (drawn on a scale), not choices."""
    values = [row.get(parameter.name) for row in rows]
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _is_log(parameter: Parameter, rows: list[dict]) -> bool:
    """Log scale for log ranges, and for positive values spanning two orders of magnitude."""
    if parameter.log:
        return True
    values = [row[parameter.name] for row in rows]
    return _numeric(parameter, rows) and min(values) > 0 and max(values) / min(values) >= 100


def _dimension(parameter: Parameter, rows: list[dict]) -> dict:
    """One axis of the parallel-coordinates chart: a scale, a log scale or the choices."""
    values = [row.get(parameter.name) for row in rows]
    if not _numeric(parameter, rows):
        choices = list(dict.fromkeys(map(str, values)))
        codes = [choices.index(str(value)) for value in values]
        ticks = {"tickvals": list(range(len(choices))), "ticktext": [plain(c) for c in choices]}
        return {"label": parameter.name, "values": codes, **ticks}
    if _is_log(parameter, rows):
        exponents = np.log10(values)
        ticks = list(range(math.floor(exponents.min()), math.ceil(exponents.max()) + 1))
        return {
            "label": f"{parameter.name} (log)",
            "values": exponents,
            "tickvals": ticks,
            "ticktext": [readable_number(10.0**tick) for tick in ticks],
        }
    return {"label": parameter.name, "values": values}


def parallel_coordinates_figure(
    rows: list[dict], parameters: list[Parameter], height: int = 380
) -> go.Figure:
    """One line per trial through every parameter to its test accuracy, coloured by it.

    Parameters
    ----------
    rows : list of dict
        `mnist_lab.sweeps.results.trial_rows` of the trials that have a test accuracy.
    parameters : list of Parameter
    height : int, default 380

    Returns
    -------
    plotly.graph_objects.Figure
    """
    accuracies = [row["test_accuracy"] for row in rows]
    dimensions = [_dimension(parameter, rows) for parameter in parameters]
    accuracy_format = percent_tickformat(accuracies)
    dimensions.append(
        {"label": "test accuracy", "values": accuracies, "tickformat": accuracy_format}
    )
    figure = go.Figure(
        go.Parcoords(
            line={
                "color": accuracies,
                "colorscale": ACCURACY_COLORSCALE,
                "showscale": True,
                "colorbar": {"title": "test acc.", "tickformat": accuracy_format, **COLORBAR_PLACE},
            },
            dimensions=dimensions,
        )
    )
    figure.update_layout(height=height, margin={"l": 60, "r": 40, "t": 50, "b": 20})
    return figure


def accuracy_by_parameter_figure(
    rows: list[dict], parameters: list[Parameter], height: int = 320
) -> go.Figure:
    """Test accuracy against each parameter, one panel per parameter, one dot per trial."""
    figure = make_subplots(
        rows=1,
        cols=len(parameters),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[parameter.name for parameter in parameters],
    )
    for col, parameter in enumerate(parameters, start=1):
        numeric = _numeric(parameter, rows)
        figure.add_trace(
            go.Scatter(
                x=[row[parameter.name] if numeric else str(row[parameter.name]) for row in rows],
                y=[row["test_accuracy"] for row in rows],
                mode="markers",
                marker={"size": 10, "color": RUN_COLORS[0], "opacity": 0.8},
                text=[plain(row["name"]) for row in rows],
                hovertemplate="%{text}<br>%{x}: %{y:.2%}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        if numeric and _is_log(parameter, rows):
            values = [row[parameter.name] for row in rows]
            figure.update_xaxes(**log_axis(values), row=1, col=col)
        elif not numeric:
            figure.update_xaxes(type="category", row=1, col=col)
    accuracies = [row["test_accuracy"] for row in rows]
    figure.update_yaxes(**percent_axis(accuracies), row=1, col=1, title="test accuracy")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def importance_figure(importances: dict[str, float], height: int = 240) -> go.Figure:
    """Each parameter's share of the accuracy's variation, as horizontal bars, largest on top."""
    names = list(importances)[::-1]
    figure = go.Figure(
        go.Bar(
            x=[importances[name] for name in names],
            y=names,
            orientation="h",
            marker={"color": RUN_COLORS[0]},
            hovertemplate="%{y}: %{x:.0%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "share of the variation in test accuracy", "tickformat": ".0%"},
    )
    return figure


def window_curves_figure(curves: dict[str, list[dict]], height: int = 380) -> go.Figure:
    """Training loss and accuracy of several runs per logging window, against the step.

    What a sweep of one epoch shows: per epoch, each trial would be a single dot.

    Parameters
    ----------
    curves : dict
        Run label (shortened in the legend, in full on hover) -> its ``metrics.jsonl``
        records; each run's ``batch`` records are drawn.
    height : int, default 380

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=("loss", "accuracy")
    )
    accuracies = []
    for number, (name, metrics) in enumerate(curves.items()):
        windows = of_kind(metrics, "batch")
        if not windows:
            continue
        steps = [record["step"] for record in windows]
        color = RUN_COLORS[number % len(RUN_COLORS)]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            values = [record.get(metric) for record in windows]
            if metric == "accuracy":
                accuracies += [value for value in values if value is not None]
            figure.add_scatter(
                x=steps,
                y=values,
                mode="lines" if len(windows) > 1 else "markers",
                name=plain(name[:40]),
                legendgroup=str(number),
                showlegend=col == 1,
                line={"color": color},
                hovertemplate=f"{plain(name)}<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
                row=1,
                col=col,
            )
    figure.update_xaxes(title_text="optimizer step (training, per logging window)")
    if accuracies:
        figure.update_yaxes(**percent_axis(accuracies), row=1, col=2)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure

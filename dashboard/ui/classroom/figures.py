"""The class as one sweep: every student's learning rate against test accuracy."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.ui.app.figures.style import (
    RUN_COLORS,
    RUN_SYMBOLS,
    log_axis,
    percent_axis,
    plain,
    short,
)


def class_sweep_figure(table: pd.DataFrame, height: int = 380) -> go.Figure:
    """Test accuracy against learning rate (log axis), one colour and symbol per student.

    Students often try the same learning rates and reach nearly the same accuracy: the dots
    are see-through, outlined and of a shape per student, so one never hides another.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``student``, ``name``, ``learning_rate`` and ``test_accuracy``: only rows
        with both numbers are drawn.
    height : int, default 380

    Returns
    -------
    plotly.graph_objects.Figure
    """
    drawn = table.dropna(subset=["learning_rate", "test_accuracy"])
    figure = go.Figure()
    for position, (student, runs) in enumerate(drawn.groupby("student", sort=True)):
        figure.add_trace(
            go.Scatter(
                x=runs["learning_rate"],
                y=runs["test_accuracy"],
                mode="markers",
                name=plain(short(student)),
                marker={
                    "size": 12,
                    "color": RUN_COLORS[position % len(RUN_COLORS)],
                    "symbol": RUN_SYMBOLS[position % len(RUN_SYMBOLS)],
                    "opacity": 0.7,
                    "line": {"width": 1.5, "color": "white"},
                },
                text=[plain(name) for name in runs["name"]],
                hovertemplate="%{text}<br>learning rate %{x:g}<br>test accuracy %{y:.2%}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "Learning rate", **log_axis(drawn["learning_rate"])},
        yaxis={"title": "Test accuracy", **percent_axis(drawn["test_accuracy"])},
        legend={"title": "Student"},
    )
    return figure

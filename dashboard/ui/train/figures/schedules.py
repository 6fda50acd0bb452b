"""The learning-rate schedule of the Train page's settings, drawn before launch."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.ui.app.figures.style import SERIES_STYLE
from mnist_lab.engines.base import Schedule


def schedule_figure(schedule: Schedule, height: int = 220) -> go.Figure:
    """The learning rate against epochs, as an engine worked it out for some settings.

    Parameters
    ----------
    schedule : Schedule
        From `mnist_lab.engines.base.Engine.learning_rate_schedule`.
    height : int, default 220

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure(
        go.Scatter(
            x=schedule.epochs,
            y=schedule.rates,
            mode="lines",
            line={"color": SERIES_STYLE["train"]["color"]},
            hovertemplate="epoch %{x:.2f}: rate %{y:.3g}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Learning rate over training"
        + ("" if schedule.name == "none" else f" ({schedule.name} schedule)"),
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": "epoch", "range": [0, schedule.epochs[-1]]},
        yaxis={"title": "learning rate", "rangemode": "tozero", "exponentformat": "e"},
    )
    return figure

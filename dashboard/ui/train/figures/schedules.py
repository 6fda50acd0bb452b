"""The learning-rate schedule of the Train page's settings, drawn before launch."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from dashboard.ui.app.figures.style import SERIES_STYLE
from mnist_lab.engines.keras_net.schedules import schedule_rates
from mnist_lab.data import MNIST_N_TRAIN as N_TRAIN


def schedule_figure(settings, height: int = 220) -> go.Figure:
    """The learning rate against epochs under ``settings`` (a Keras run's settings).

    Parameters
    ----------
    settings : KerasSettings
    height : int, default 220

    Returns
    -------
    plotly.graph_objects.Figure
    """
    images = (settings.subset or N_TRAIN) * (1 - settings.val_split)
    steps_per_epoch = max(1, math.ceil(images / settings.batch_size))
    epochs, rates = schedule_rates(settings, steps_per_epoch)
    figure = go.Figure(
        go.Scatter(
            x=epochs,
            y=rates,
            mode="lines",
            line={"color": SERIES_STYLE["train"]["color"]},
            hovertemplate="epoch %{x:.2f}: rate %{y:.3g}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Learning rate over training ({settings.lr_schedule} schedule)",
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": "epoch", "range": [0, settings.epochs]},
        yaxis={"title": "learning rate", "rangemode": "tozero", "exponentformat": "e"},
    )
    return figure

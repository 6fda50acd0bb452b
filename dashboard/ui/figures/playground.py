"""The Playground's figure: what each chosen model thinks of one digit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.ui.figures.style import DIGITS, RUN_COLORS, plain


def probabilities_figure(probabilities: list[tuple[str, np.ndarray]]) -> go.Figure:
    """Grouped bars of the ten class probabilities, one colour per ``(run name, values)``.

    Parameters
    ----------
    probabilities : list of (str, numpy.ndarray)
        Run name (shown HTML-escaped) and its ten probabilities, in legend order.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure()
    for number, (name, values) in enumerate(probabilities):
        figure.add_bar(
            x=DIGITS,
            y=values,
            name=plain(name),
            marker_color=RUN_COLORS[number % len(RUN_COLORS)],
            hovertemplate="p(%{x}) = %{y:.3f}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "digit", "dtick": 1},
        yaxis={"title": "probability", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.15, "x": 0},
    )
    return figure

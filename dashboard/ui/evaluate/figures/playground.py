"""The Playground's figure: what each chosen model thinks of one digit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.ui.app.figures.style import RUN_COLORS, class_axis, class_labels, class_word, plain


def probabilities_figure(
    probabilities: list[tuple[str, np.ndarray]], class_names: Sequence[str] | None = None
) -> go.Figure:
    """Grouped bars of the class probabilities, one colour per ``(run name, values)``.

    Parameters
    ----------
    probabilities : list of (str, numpy.ndarray)
        Run name (shown HTML-escaped) and its probability per class, in legend order.
    class_names : sequence of str, optional
        The classes' names (shown as plain text); the digits by default.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure()
    labels = class_labels(class_names)
    for number, (name, values) in enumerate(probabilities):
        figure.add_bar(
            x=list(range(len(values))),
            y=values,
            customdata=labels,
            name=plain(name),
            marker_color=RUN_COLORS[number % len(RUN_COLORS)],
            hovertemplate="p(%{customdata}) = %{y:.3f}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={
            "title": class_word(class_names),
            **class_axis(class_names),
        },
        yaxis={"title": "probability", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.15, "x": 0},
    )
    return figure

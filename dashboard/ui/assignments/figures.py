"""An assignment's two scores side by side: each student's best run, visible part against hidden."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.ui.app.figures.style import RUN_COLORS, percent_axis, plain, short
from mnist_lab.assignments.results import RunResult

PASSED_COLOR, FAILED_COLOR = RUN_COLORS[2], RUN_COLORS[3]


def scores_figure(rows: list[RunResult], threshold: float | None, height: int = 320) -> go.Figure:
    """One dot per result: accuracy on the visible part (x) and on the hidden part (y).

    A dot under the diagonal did better on the digits students could see than on the hidden
    ones: the gap the Lessons page explains.

    Parameters
    ----------
    rows : list of RunResult
        Only rows with both scores are drawn.
    threshold : float, optional
        An accuracy goal, drawn as lines on both axes.
    height : int, default 320

    Returns
    -------
    plotly.graph_objects.Figure
    """
    drawn = [row for row in rows if row.visible is not None and row.hidden is not None]
    figure = go.Figure()
    for passed, color, name in ((True, PASSED_COLOR, "passes"), (False, FAILED_COLOR, "fails")):
        part = [row for row in drawn if row.passed == passed]
        figure.add_scatter(
            x=[row.visible.accuracy for row in part],
            y=[row.hidden.accuracy for row in part],
            mode="markers",
            name=name,
            marker={"size": 12, "color": color, "line": {"width": 1.5, "color": "white"}},
            text=[plain(short(row.student)) for row in part],
            hovertemplate="%{text}<br>visible %{x:.2%}<br>hidden %{y:.2%}<extra></extra>",
        )
    scores = [s.accuracy for row in drawn for s in (row.visible, row.hidden)]
    if threshold is not None:
        scores.append(threshold)
    if scores:
        low, high = min(scores), max(scores)
        figure.add_scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="same on both parts",
            line={"color": "#868e96", "dash": "dot"},
            hoverinfo="skip",
        )
    if threshold is not None:
        figure.add_hline(y=threshold, line_dash="dash", line_color=PASSED_COLOR)
        figure.add_vline(x=threshold, line_dash="dash", line_color=PASSED_COLOR)
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "Accuracy on the visible part", **percent_axis(scores)},
        yaxis={"title": "Accuracy on the hidden part", **percent_axis(scores)},
    )
    return figure

"""Figures of a lesson: its runs' accuracies side by side, and their learning curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from dashboard.ui.figures.curves import learning_curves_figure
from dashboard.ui.figures.style import RUN_COLORS

if TYPE_CHECKING:
    from mnist_lab.lessons import Lesson, RunResult

# Bars of the comparison chart: (RunResult attribute, legend label).
ACCURACIES = (
    ("train_accuracy", "training (last epoch)"),
    ("val_accuracy", "validation (last epoch)"),
    ("test_accuracy", "test"),
)


def comparison_figure(
    lesson: Lesson, results: dict[str, RunResult], height: int = 340
) -> go.Figure:
    """Grouped bars of training, validation and test accuracy of each run of a lesson.

    Parameters
    ----------
    lesson : Lesson
        Its run names (our own text, never user input) label the bars.
    results : dict
        Step key -> `RunResult`.
    height : int, default 340

    Returns
    -------
    plotly.graph_objects.Figure
    """
    steps = [step for step in lesson.steps if step in results]
    names = [lesson.name_of(step).split(": ", 1)[-1] for step in steps]
    figure = go.Figure()
    for number, (attribute, label) in enumerate(ACCURACIES):
        values = [getattr(results[step], attribute) for step in steps]
        figure.add_bar(
            x=names,
            y=values,
            name=label,
            marker_color=RUN_COLORS[number],
            text=[f"{v:.0%}" if v is not None else "—" for v in values],
            hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>",
        )
    figure.add_hline(
        y=0.1, line_dash="dot", annotation_text="guessing (10%)", annotation_position="top left"
    )
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"title": "accuracy", "tickformat": ".0%", "range": [0, 1.05]},
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return figure


def lesson_curves_figure(curves: dict[str, list[dict]]) -> go.Figure:
    """The learning curves of a lesson's runs overlaid, loss on a log scale.

    Parameters
    ----------
    curves : dict
        Run name -> its ``metrics.jsonl`` records, as for `learning_curves_figure`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = learning_curves_figure(curves)
    # A diverged run's loss runs into the thousands: a log axis keeps the others visible.
    figure.update_yaxes(type="log", row=1, col=1)
    # Both panels list every run; one legend entry per line is enough.
    figure.for_each_trace(lambda trace: trace.update(showlegend=trace.xaxis == "x"))
    return figure

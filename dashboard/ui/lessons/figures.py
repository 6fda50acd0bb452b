"""Figures of a lesson: its runs' accuracies side by side, and their learning curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from dashboard.ui.app.figures.style import RUN_COLORS, log_axis, percent_axis
from dashboard.ui.train.figures.curves import learning_curves_figure

if TYPE_CHECKING:
    from mnist_lab.lessons.catalogue import Lesson
    from mnist_lab.lessons.results import RunResult

CHANCE = 0.1
GUESSING_COLOR = "#495057"
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
            text=[
                bar_text(value, results[step]) for value, step in zip(values, steps, strict=True)
            ],
            hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>",
        )
    # In the legend rather than on the chart, where its label would sit on the bars.
    figure.add_scatter(
        x=[names[0], names[-1]] if names else [],
        y=[CHANCE, CHANCE],
        mode="lines",
        name=f"guessing ({CHANCE:.0%})",
        line={"color": GUESSING_COLOR, "dash": "dot"},
        hoverinfo="skip",
    )
    figure.add_hline(y=CHANCE, line_dash="dot", line_color=GUESSING_COLOR)
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"title": "accuracy", "tickformat": ".0%", "range": [0, 1.05]},
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return figure


def bar_text(value: float | None, result: RunResult) -> str:
    """The label on one bar: the accuracy, or why there is none."""
    if value is not None:
        return f"{value:.0%}"
    return "diverged" if result.diverged else "—"


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
    losses = [y for trace in figure.data if trace.yaxis == "y" for y in trace.y]
    figure.update_yaxes(**log_axis(losses), row=1, col=1)
    # Both panels list every run; one legend entry per line (the loss panel's) is enough.
    figure.for_each_trace(lambda trace: trace.update(showlegend=trace.yaxis == "y"))
    return figure


def growing_gap_figure(rows: list[dict], accuracy: float, height: int = 320) -> go.Figure:
    """The picked model's visible and hidden scores as more models are compared (log x).

    Parameters
    ----------
    rows : list of dict
        `mnist_lab.lessons.held_out.growing_gap`.
    accuracy : float
        What every model really scores, drawn as a dotted line.
    height : int, default 320

    Returns
    -------
    plotly.graph_objects.Figure
    """
    models = [row["models"] for row in rows]
    figure = go.Figure()
    for number, (part, label) in enumerate(
        (("visible", "visible part (what it was picked on)"), ("hidden", "hidden part"))
    ):
        figure.add_scatter(
            x=models,
            y=[row[part] for row in rows],
            mode="lines+markers",
            name=label,
            line={"color": RUN_COLORS[number]},
            hovertemplate="best of %{x} models: %{y:.2%}<extra>" + label + "</extra>",
        )
    figure.add_hline(y=accuracy, line_dash="dot", line_color=GUESSING_COLOR)
    scores = [row[part] for row in rows for part in ("visible", "hidden")] + [accuracy]
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "models compared on the visible part", **log_axis(models)},
        yaxis={"title": "accuracy of the one picked", **percent_axis(scores)},
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return figure

"""Views of a lesson's runs: their live status side by side, and the comparison chart."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.runs_view import RUN_COLORS, learning_curves_figure
from dashboard.ui.training_view import REFRESH_SECONDS, progress_text, render_status
from mnist_lab.lessons import Lesson, RunResult
from mnist_lab.runs import DAMAGED, LIVE_STATES, Run

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


def lesson_runs_panel(lesson: Lesson, runs: dict[str, Run]) -> None:
    """Each run's state and progress, and the overlaid learning curves, live while training."""
    live = any(run.status()["state"] in LIVE_STATES for run in runs.values())

    @st.fragment(run_every=REFRESH_SECONDS if live else None)
    def panel() -> None:
        statuses = {step: run.status() for step, run in runs.items()}
        for step, run in runs.items():
            status = statuses[step]
            st.markdown(f"**{lesson.name_of(step)}**")
            render_status(run, status)
            if status["state"] != DAMAGED:
                progress = min(max(float(status.get("progress", 0.0)), 0.0), 1.0)
                st.progress(progress, progress_text(status))
        curves = {lesson.name_of(step): run.metrics() for step, run in runs.items()}
        if any(curves.values()):
            figure = learning_curves_figure(curves)
            # A diverged run's loss runs into the thousands: a log axis keeps the others visible.
            figure.update_yaxes(type="log", row=1, col=1)
            # Both panels list every run; one legend entry per line is enough.
            figure.for_each_trace(lambda trace: trace.update(showlegend=trace.xaxis == "x"))
            st.plotly_chart(figure, key=f"lessons_curves_{lesson.id}")
        if live and not any(s["state"] in LIVE_STATES for s in statuses.values()):
            # The last run just ended: rerun the page once to show the explanation.
            st.rerun()

    panel()
